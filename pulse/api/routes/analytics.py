"""``GET /v1/analytics`` and ``GET /v1/analytics/spans`` (docs/api.md §Analytics).

Parses and validates the query; the numbers come from storage/analytics.py (LLM calls, over
rollups) and storage/analytics_spans.py (agent activity). ``date_from`` and ``date_to`` are
required; ``provider`` and ``model`` (requested model) optionally narrow ``/analytics``.
"""

from __future__ import annotations

import json
from datetime import datetime

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from pulse.api.deps import Services, services
from pulse.api.params import QueryErrors, choice_param, parse_date, text_param
from pulse.api.responses import json_response
from pulse.records import ApiKeyInfo
from pulse.storage import analytics, analytics_spans


def required_range(q: QueryParams, errors: QueryErrors) -> tuple[datetime, datetime] | None:
    """Both bounds, parsed: 400 ``Invalid date_from parameter`` when unparseable, and (as in the
    reference Pulse service) when only a date is given: analytics take full datetimes."""
    for name in ("date_from", "date_to"):
        if not q.get(name):
            errors.add(name, "Required")
    if errors.details:
        return None
    date_from = parse_date("date_from", q["date_from"], end_of_day=False, datetime_only=True)
    date_to = parse_date("date_to", q["date_to"], end_of_day=True, datetime_only=True)
    if date_from > date_to:
        errors.add("date_from", "Must not be after date_to")
        return None
    return date_from, date_to


def _json(body: dict) -> Response:
    try:
        return json_response(orjson.dumps(body).decode("utf-8"))
    except orjson.JSONEncodeError:  # a token total beyond 64 bits: the stdlib encodes it
        return json_response(json.dumps(body, separators=(",", ":")))


def router(authenticate, prefix: str = "/v1") -> APIRouter:
    """Routes under ``prefix`` (``/v1`` with API keys; ``/dashboard/api`` with sessions)."""
    r = APIRouter(tags=["analytics"])

    @r.get(prefix + "/analytics")
    async def llm_analytics(
        request: Request,
        key: ApiKeyInfo = Depends(authenticate),
        svc: Services = Depends(services),
    ) -> Response:
        q = request.query_params
        errors = QueryErrors()
        group_by = choice_param(q, "group_by", analytics.GROUP_BY, errors)
        provider = text_param(q, "provider", errors)
        model = text_param(q, "model", errors)
        dates = required_range(q, errors)
        errors.raise_if_any()
        query = analytics.AnalyticsQuery(
            dates[0], dates[1], group_by, provider.lower() if provider else None, model
        )
        return _json(await analytics.llm_analytics(svc.reads, key.project_id, query))

    @r.get(prefix + "/analytics/spans")
    async def span_analytics(
        request: Request,
        key: ApiKeyInfo = Depends(authenticate),
        svc: Services = Depends(services),
    ) -> Response:
        q = request.query_params
        errors = QueryErrors()
        group_by = choice_param(q, "group_by", ("day", "hour"), errors)
        dates = required_range(q, errors)
        errors.raise_if_any()
        body = await analytics_spans.span_analytics(
            svc.reads, key.project_id, dates[0], dates[1], group_by
        )
        return _json(body)

    return r
