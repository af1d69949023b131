"""Read pages of the dashboard: Overview, Traces (+ its live fragment), Trace detail, Analytics.

Every route takes the project from the URL and resolves it through
:func:`pulse.api.web.render.page_context` (session + membership); every storage call is scoped to
that project id, so a page can only ever show the signed-in member's project.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from pulse.api.web import charts, filters, messages
from pulse.api.web.render import PageContext, PageError, endpoint, page_context, render
from pulse.storage import analytics, analytics_spans, queries, session_list
from pulse.storage.queries import TraceFilters

LIVE_MAX = 100  # rows one live poll may return


async def _llm(ctx: PageContext, tr: filters.TimeRange, group_by: str | None = None,
               provider: str | None = None, model: str | None = None) -> dict:
    start = tr.date_from or datetime(2000, 1, 1, tzinfo=UTC)
    end = tr.date_to or datetime.now(UTC)
    q = analytics.AnalyticsQuery(start, end, group_by, provider, model)
    return await analytics.llm_analytics(ctx.reads, ctx.project_id, q)


async def _is_empty(ctx: PageContext) -> bool:
    """True when the project has never received a trace or span (rollup-backed, cheap)."""
    data = await _llm(ctx, filters.TimeRange("all", None, None))
    if data["totalRequests"]:
        return False
    _, agents = await session_list.list_sessions(
        ctx.reads, ctx.project_id, session_list.SessionFilters("agent"), 1, 0)
    return agents == 0


def onboarding(ctx: PageContext) -> dict:
    return {"endpoint": endpoint(ctx.request), "keys_url": f"{ctx.base}/keys"}


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)
    base = "/dashboard/p/{project_id}"

    @r.get(base, response_class=HTMLResponse)
    async def overview(request: Request, project_id: str) -> Response:
        ctx = await page_context(request, project_id)
        tr = filters.time_range(request.query_params, default="7d")
        data = await _llm(ctx, tr, group_by=tr.bucket)
        # Agent sessions from the per-session summaries (cheap); span analytics scan raw rows
        # and take seconds over weeks of data, so they live on the Analytics page only.
        # Sessions as the Sessions page lists them (one per id, LLM calls and/or agent spans)
        counts = [(await session_list.list_sessions(
            ctx.reads, ctx.project_id, session_list.SessionFilters(k, None, tr.date_from,
                                                                  tr.date_to), 1, 0))[1]
            for k in (None, "agent", "llm")]
        sessions = {"all": counts[0], "agent": counts[1], "llm": counts[2]}
        empty = data["totalRequests"] == 0 and counts[0] == 0 and await _is_empty(ctx)
        return render("overview.html", ctx, nav="overview", range=tr, data=data,
                      sessions=sessions,
                      chart=charts.llm_series(data, tr.bucket, tr.date_from, tr.date_to),
                      empty=empty, onboard=onboarding(ctx),
                      ranges=("24h", "7d", "30d", "90d"))

    @r.get(base + "/traces", response_class=HTMLResponse)
    async def traces(request: Request, project_id: str) -> Response:
        ctx = await page_context(request, project_id)
        values = await queries.filter_values(ctx.reads, ctx.project_id)
        tq, notes = filters.resolve(filters.trace_query(request.query_params), values)
        offset = (tq.page - 1) * filters.PAGE_SIZE
        page = await queries.list_traces(ctx.reads, ctx.project_id, tq.filters,
                                         filters.PAGE_SIZE, offset)
        rows = [orjson.loads(row) for row in page.rows]
        empty = not rows and not tq.active and await _is_empty(ctx)
        excluded = []  # which filter alone already matches nothing
        if not rows and tq.active and tq.page == 1:
            for label, value, f in filters.single_filters(tq):
                alone = await queries.list_traces(ctx.reads, ctx.project_id, f, 1, 0)
                if alone.total == 0:
                    excluded.append((label, value))
        pages = max(1, -(-page.total // filters.PAGE_SIZE))
        return render("traces.html", ctx, nav="traces", tq=tq, rows=rows, total=page.total,
                      values=values, notes=notes, excluded=excluded,
                      pages=pages, empty=empty, onboard=onboarding(ctx),
                      ranges=("1h", "24h", "7d", "30d", "all"))

    @r.get(base + "/traces/live", response_class=HTMLResponse)
    async def traces_live(request: Request, project_id: str) -> Response:
        """Rows newer than ``after`` (ISO time) matching the page's filters, newest first."""
        ctx = await page_context(request, project_id, fragment=True)
        tq, _ = filters.resolve(filters.trace_query(request.query_params),
                                await queries.filter_values(ctx.reads, ctx.project_id))
        after = filters._date(request.query_params.get("after"), False)
        if after is None:
            after = datetime.now(UTC) - timedelta(minutes=5)
        f = tq.filters
        f = TraceFilters(f.session_id, f.provider, f.model, f.status, after, None, f.q)
        page = await queries.list_traces(ctx.reads, ctx.project_id, f, LIVE_MAX, 0)
        rows = [orjson.loads(row) for row in page.rows]
        return render("_trace_rows.html", ctx, rows=rows, live=True)

    @r.get(base + "/traces/{trace_id}", response_class=HTMLResponse)
    async def trace_detail(request: Request, project_id: str, trace_id: str) -> Response:
        ctx = await page_context(request, project_id)
        try:
            wanted = UUID(trace_id)
        except ValueError:
            raise PageError(404, "Trace not found") from None
        found = await queries.get_traces(ctx.reads, ctx.project_id, [wanted])
        if wanted not in found:
            raise PageError(404, "Trace not found")
        row = orjson.loads(found[wanted])
        return render(
            "trace.html", ctx, nav="traces", t=row,
            request_msgs=messages.request_messages(row.get("requestBody")),
            response_msgs=messages.response_messages(row.get("responseBody"),
                                                     row.get("outputText")),
            cache=messages.cache_tokens(row),
        )

    async def _none() -> None:
        return None

    @r.get(base + "/analytics", response_class=HTMLResponse)
    async def analytics_page(request: Request, project_id: str) -> Response:
        ctx = await page_context(request, project_id)
        q = request.query_params
        tr = filters.time_range(q, default="30d")
        group_by = q.get("group_by") if q.get("group_by") in ("model", "provider") else None
        provider = filters._text(q, "provider")
        provider = queries.normalise_provider(provider) if provider else None
        values = await queries.filter_values(ctx.reads, ctx.project_id)
        # three independent queries on three pooled connections: the page waits for the slowest
        data, grouped, agents = await asyncio.gather(
            _llm(ctx, tr, group_by=tr.bucket, provider=provider),
            _llm(ctx, tr, group_by=group_by, provider=provider) if group_by else _none(),
            analytics_spans.span_analytics(
                ctx.reads, ctx.project_id, tr.date_from, tr.date_to,
                "hour" if tr.bucket == "hour" else None),
        )
        spans_chart = charts.spans_series(agents, tr.bucket, tr.date_from, tr.date_to)
        return render("analytics.html", ctx, nav="analytics", range=tr, data=data,
                      grouped=grouped, group_by=group_by, provider=provider, agents=agents,
                      values=values,
                      chart=charts.llm_series(data, tr.bucket, tr.date_from, tr.date_to),
                      spans_chart=spans_chart,
                      ranges=("24h", "7d", "30d", "90d"))

    return r
