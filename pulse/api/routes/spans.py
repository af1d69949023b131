"""``GET /v1/spans`` and ``GET /v1/spans/{id}`` (docs/api.md §Query routes)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from pulse.api.deps import Services, services
from pulse.api.params import QueryErrors, choice_param, date_range, paging, text_param
from pulse.api.responses import json_page, json_response
from pulse.errors import NotFound
from pulse.records import SPAN_KINDS, SPAN_SOURCES, ApiKeyInfo
from pulse.storage import queries


def router(authenticate, prefix: str = "/v1") -> APIRouter:
    """Routes under ``prefix`` (``/v1`` with API keys; ``/dashboard/api`` with sessions)."""
    r = APIRouter(tags=["spans"])

    @r.get(f"{prefix}/spans")
    async def list_spans(
        request: Request,
        key: ApiKeyInfo = Depends(authenticate),
        svc: Services = Depends(services),
    ) -> Response:
        q = request.query_params
        errors = QueryErrors()
        session_id = text_param(q, "session_id", errors, max_len=256)
        source = choice_param(q, "source", SPAN_SOURCES, errors)
        kind = choice_param(q, "kind", SPAN_KINDS, errors)
        tool_name = text_param(q, "tool_name", errors)
        search = text_param(q, "q", errors, max_len=256)
        status = text_param(q, "status", errors, max_len=64)
        limit, offset = paging(q, errors)
        errors.raise_if_any()
        date_from, date_to = date_range(q)
        filters = queries.SpanFilters(
            session_id=session_id,
            source=source,
            kind=kind,
            tool_name=tool_name,
            status=status,
            date_from=date_from,
            date_to=date_to,
            q=search,
        )
        page = await queries.list_spans(svc.reads, key.project_id, filters, limit, offset)
        return json_page("spans", page.rows, page.total, limit, offset)

    @r.get(prefix + "/spans/{span_id}")
    async def get_span(
        span_id: str, key: ApiKeyInfo = Depends(authenticate), svc: Services = Depends(services)
    ) -> Response:
        try:
            wanted = UUID(span_id)
        except ValueError:
            raise NotFound("Span not found") from None
        rows = await queries.get_spans(svc.reads, key.project_id, [wanted])
        if wanted not in rows:
            raise NotFound("Span not found")
        return json_response(rows[wanted])

    return r
