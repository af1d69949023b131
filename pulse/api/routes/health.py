"""``GET /health`` (liveness, no auth) and ``GET /health/ready`` (database + ingest readiness)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from pulse.api.deps import Services, services

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok", "service": "pulse"}


@router.get("/health/ready")
async def ready(svc: Services = Depends(services)) -> JSONResponse:
    reasons = [reason for probe in svc.readiness if (reason := await probe())]
    if reasons:
        return JSONResponse(
            {"status": "unavailable", "service": "pulse", "reasons": reasons},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return JSONResponse({"status": "ready", "service": "pulse"})
