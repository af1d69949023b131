"""``GET /v1/sessions/{id}`` (traces) and ``GET /v1/sessions/{id}/spans`` (SPEC.md §4).

Both list oldest first. A session is "not found" when it has no row of the requested kind in the
key's project. ``limit`` (default 1000, at most 10000) and ``offset`` page very long sessions.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from pulse.api.deps import Services, services
from pulse.api.params import QueryErrors, paging
from pulse.api.responses import json_response
from pulse.errors import NotFound
from pulse.records import ApiKeyInfo
from pulse.storage import queries

MAX_SESSION_ID = 256


def router(authenticate, prefix: str = "/v1") -> APIRouter:
    """Routes under ``prefix`` (``/v1`` with API keys; ``/dashboard/api`` with sessions)."""
    r = APIRouter(tags=["sessions"])

    def page_args(request: Request) -> tuple[int, int]:
        errors = QueryErrors()
        limit, offset = paging(request.query_params, errors, default_limit=1000, max_limit=10000)
        errors.raise_if_any()
        return limit, offset

    def body(session_id: str, kind: str, rows: list[str]) -> Response:
        sid = orjson.dumps(session_id).decode()
        return json_response(f'{{"sessionId":{sid},"{kind}":[{",".join(rows)}]}}')

    @r.get(prefix + "/sessions/{session_id}")
    async def session_traces(
        session_id: str,
        request: Request,
        key: ApiKeyInfo = Depends(authenticate),
        svc: Services = Depends(services),
    ) -> Response:
        limit, offset = page_args(request)
        rows = []
        if len(session_id) <= MAX_SESSION_ID and "\x00" not in session_id:
            rows = await queries.session_traces(svc.pool, key.project_id, session_id, limit, offset)
        if not rows and offset == 0:
            raise NotFound("Session not found")
        return body(session_id, "traces", rows)

    @r.get(prefix + "/sessions/{session_id}/spans")
    async def session_spans(
        session_id: str,
        request: Request,
        key: ApiKeyInfo = Depends(authenticate),
        svc: Services = Depends(services),
    ) -> Response:
        limit, offset = page_args(request)
        rows = []
        if len(session_id) <= MAX_SESSION_ID and "\x00" not in session_id:
            rows = await queries.session_spans(svc.pool, key.project_id, session_id, limit, offset)
        if not rows and offset == 0:
            raise NotFound("Session not found")
        return body(session_id, "spans", rows)

    return r
