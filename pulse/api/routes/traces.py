"""``GET /v1/traces`` and ``GET /v1/traces/{id}`` (docs/api.md §Query routes)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from pulse.api.deps import Services, services
from pulse.api.params import QueryErrors, choice_param, date_range, paging, text_param
from pulse.api.responses import json_page, json_response
from pulse.errors import NotFound
from pulse.records import ApiKeyInfo
from pulse.storage import queries


def router(authenticate, prefix: str = "/v1") -> APIRouter:
    """Routes under ``prefix`` (``/v1`` with API keys; ``/dashboard/api`` with sessions)."""
    r = APIRouter(tags=["traces"])

    @r.get(f"{prefix}/traces")
    async def list_traces(
        request: Request,
        key: ApiKeyInfo = Depends(authenticate),
        svc: Services = Depends(services),
    ) -> Response:
        q = request.query_params
        errors = QueryErrors()
        session_id = text_param(q, "session_id", errors, max_len=256)
        provider = text_param(q, "provider", errors)
        model = text_param(q, "model", errors)
        search = text_param(q, "q", errors, max_len=256)
        status = choice_param(q, "status", ("success", "error"), errors)
        limit, offset = paging(q, errors)
        errors.raise_if_any()
        date_from, date_to = date_range(q)
        filters = queries.TraceFilters(
            session_id=session_id,
            provider=queries.normalise_provider(provider) if provider else None,
            model=model,
            status=status,
            date_from=date_from,
            date_to=date_to,
            q=search,
        )
        page = await queries.list_traces(svc.reads, key.project_id, filters, limit, offset)
        return json_page("traces", page.rows, page.total, limit, offset)

    @r.get(prefix + "/traces/{trace_id}")
    async def get_trace(
        trace_id: str, key: ApiKeyInfo = Depends(authenticate), svc: Services = Depends(services)
    ) -> Response:
        try:
            wanted = UUID(trace_id)
        except ValueError:
            raise NotFound("Trace not found") from None
        rows = await queries.get_traces(svc.reads, key.project_id, [wanted])
        if wanted not in rows:
            raise NotFound("Trace not found")
        return json_response(rows[wanted])

    return r
