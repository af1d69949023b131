"""The native Pulse ingest routes: ``POST /v1/traces|spans/async|batch`` (docs/api.md).

Transport only: media type, bounded body reading (``body``), authentication (a callable passed
in), validation of the JSON items into records (``pulse.mapping``) and the answer's shape. The
validated records go to the one ingest entry, :meth:`pulse.pipeline.Ingestor.ingest`; the rows
for the ``/batch`` answers come from a read-back callable passed in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from pulse.errors import InvalidInput, UnsupportedMediaType
from pulse.mapping import parse_json_array, spans_from_json, traces_from_json
from pulse.pipeline import Ingestor
from pulse.receivers.body import BodyLimits, media_type, read_body
from pulse.records import ApiKeyInfo

Authenticate = Callable[..., Awaitable[ApiKeyInfo]]
ReadBack = Callable[[UUID, str, list[UUID]], Awaitable[dict[UUID, str]]]

JSON_TYPES = ("application/json", "text/json")


def _require_json(request: Request) -> None:
    kind = media_type(request)
    if kind and kind not in JSON_TYPES and not kind.endswith("+json"):
        raise UnsupportedMediaType(f"Unsupported Content-Type {kind!r}; send application/json")


def _json_list(rows: list[str]) -> str:
    return "[" + ",".join(rows) + "]"


def native_router(
    ingestor: Ingestor, authenticate: Authenticate, read_back: ReadBack, limits: BodyLimits
) -> APIRouter:
    """The four native ingest routes, wired to the one ingest entry."""
    router = APIRouter(tags=["ingest"])

    async def decode(request: Request, kind: str) -> list[Any]:
        _require_json(request)
        items = parse_json_array(await read_body(request, limits))
        try:
            return traces_from_json(items) if kind == "traces" else spans_from_json(items)
        except InvalidInput:
            ingestor.reject("validation", len(items))
            raise

    async def accept_async(request: Request, key: ApiKeyInfo, kind: str) -> Response:
        records = await decode(request, kind)
        outcome = await ingestor.ingest(key.project_id, records, wait="durable")
        return JSONResponse({"status": "queued", "count": outcome.accepted}, status_code=202)

    async def accept_batch(request: Request, key: ApiKeyInfo, kind: str) -> Response:
        records = await decode(request, kind)
        await ingestor.ingest(key.project_id, records, wait="commit")
        ids = list(
            dict.fromkeys(
                getattr(r, "trace_id" if kind == "traces" else "span_id") for r in records
            )
        )
        rows = await read_back(key.project_id, kind, ids)
        stored = _json_list([rows[i] for i in ids if i in rows])
        body = f'{{"count":{len(records)},"{kind}":{stored}}}'
        return Response(body, status_code=202, media_type="application/json")

    @router.post("/v1/traces/async", status_code=202)
    async def traces_async(request: Request, key: ApiKeyInfo = Depends(authenticate)) -> Response:
        return await accept_async(request, key, "traces")

    @router.post("/v1/traces/batch", status_code=202)
    async def traces_batch(request: Request, key: ApiKeyInfo = Depends(authenticate)) -> Response:
        return await accept_batch(request, key, "traces")

    @router.post("/v1/spans/async", status_code=202)
    async def spans_async(request: Request, key: ApiKeyInfo = Depends(authenticate)) -> Response:
        return await accept_async(request, key, "spans")

    @router.post("/v1/spans/batch", status_code=202)
    async def spans_batch(request: Request, key: ApiKeyInfo = Depends(authenticate)) -> Response:
        return await accept_batch(request, key, "spans")

    return router
