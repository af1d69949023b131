"""``GET /v1/sessions`` (list), ``GET /v1/sessions/{id}`` (traces) and ``.../{id}/spans``.

The list (docs/sql.md "GET /v1/sessions") reads the per-session summaries kept on write:
``{"sessions":[...],"total","limit","offset"}``, newest activity first, filters ``kind``
(``llm``|``agent``|``both``; one row per session id), ``source``, ``date_from``, ``date_to``;
``limit`` 1-1000 (default 50).

Both list oldest first. A session is "not found" when it has no row of the requested kind in the
key's project. ``limit`` (default 1000, at most 10000) and ``offset`` page very long sessions.
Session ids may hold any character: they are one percent-encoded path segment (``a%2Fb``).
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from pulse.api.deps import Services, services
from pulse.api.params import (
    QueryErrors,
    choice_param,
    date_range,
    encoded_tail,
    paging,
    text_param,
)
from pulse.api.responses import json_page, json_response
from pulse.errors import NotFound
from pulse.records import ApiKeyInfo
from pulse.storage import queries, session_list

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

    @r.get(prefix + "/sessions")
    async def list_sessions(
        request: Request,
        key: ApiKeyInfo = Depends(authenticate),
        svc: Services = Depends(services),
    ) -> Response:
        q = request.query_params
        errors = QueryErrors()
        kind = choice_param(q, "kind", session_list.KINDS, errors)
        source = text_param(q, "source", errors)
        limit, offset = paging(q, errors, default_limit=50)
        errors.raise_if_any()
        date_from, date_to = date_range(q)
        filters = session_list.SessionFilters(kind, source, date_from, date_to)
        rows, total = await session_list.list_sessions(
            svc.reads, key.project_id, filters, limit, offset
        )
        return json_page("sessions", rows, total, limit, offset)

    async def session(request: Request, project_id, pool) -> Response:
        """One session's traces or spans, oldest first; 404 when it has none of them.

        The id and the route (``.../{id}`` or ``.../{id}/spans``) come from the raw path
        (:func:`encoded_tail`): a session id may contain any character, ``/`` included, as
        one percent-encoded segment."""
        tail = encoded_tail(request, prefix + "/sessions")
        if len(tail) == 1:
            kind = "traces"
        elif len(tail) == 2 and tail[1] == "spans":
            kind = "spans"
        else:
            raise NotFound("Session not found")
        session_id = tail[0]
        limit, offset = page_args(request)
        fetch = queries.session_traces if kind == "traces" else queries.session_spans
        rows = []
        if len(session_id) <= MAX_SESSION_ID and "\x00" not in session_id:
            rows = await fetch(pool, project_id, session_id, limit, offset)
        if not rows and offset == 0:
            raise NotFound("Session not found")
        return body(session_id, kind, rows)

    # `:path` so that ids with an encoded "/" reach the handler at all; both routes resolve
    # the id and the kind from the raw path, whichever of the two matched.
    @r.get(prefix + "/sessions/{session_id:path}/spans")
    async def session_spans(
        session_id: str,
        request: Request,
        key: ApiKeyInfo = Depends(authenticate),
        svc: Services = Depends(services),
    ) -> Response:
        return await session(request, key.project_id, svc.reads)

    @r.get(prefix + "/sessions/{session_id:path}")
    async def session_traces(
        session_id: str,
        request: Request,
        key: ApiKeyInfo = Depends(authenticate),
        svc: Services = Depends(services),
    ) -> Response:
        return await session(request, key.project_id, svc.reads)

    return r
