"""``GET /health`` (liveness), ``GET /health/ready`` (database + ingest queue) and
``GET /metrics`` (Prometheus); none needs a key."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from pulse.api.deps import Services, services

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok", "service": "pulse"}


@router.get("/health/ready")
async def ready(svc: Services = Depends(services)) -> JSONResponse:
    reasons = [reason for probe in svc.readiness if (reason := await probe())]
    extra = {"queue": svc.queue_state()} if svc.queue_state is not None else {}
    if reasons:
        return JSONResponse(
            {"status": "unavailable", "service": "pulse", "reasons": reasons, **extra},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return JSONResponse({"status": "ready", "service": "pulse", **extra})


@router.get("/metrics", include_in_schema=False)
async def metrics(svc: Services = Depends(services)) -> Response:
    """Prometheus text format (no auth, like most exporters: bind or firewall it as needed)."""
    if svc.metrics is None:
        return Response("", media_type="text/plain; version=0.0.4")
    body, content_type = svc.metrics()
    return Response(body, media_type=content_type)
