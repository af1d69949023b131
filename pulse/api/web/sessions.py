"""Session pages of the dashboard: the session list (LLM and agent sessions, from
``storage.session_list``), the session replay (``timeline.build`` over the session's spans and
traces) and its live fragment. Scoped like every page: project from the URL, membership checked
by :func:`pulse.api.web.render.page_context`, every storage call takes that project id."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from pulse.api.params import encoded_tail
from pulse.api.web import filters, timeline
from pulse.api.web.pages import onboarding
from pulse.api.web.render import PageError, page_context, render
from pulse.storage import queries, session_list

MAX_ITEMS = 2000  # rows of each kind a replay loads; longer sessions show a notice
MAX_SESSION_ID = 256


async def _load(ctx, session_id: str) -> tuple[list[str], list[str]]:
    if len(session_id) > MAX_SESSION_ID or "\x00" in session_id:
        return [], []
    traces = await queries.session_traces(ctx.reads, ctx.project_id, session_id, MAX_ITEMS)
    spans = await queries.session_spans(ctx.reads, ctx.project_id, session_id, MAX_ITEMS)
    return traces, spans


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)
    base = "/dashboard/p/{project_id}/sessions"

    @r.get(base, response_class=HTMLResponse)
    async def sessions(request: Request, project_id: str) -> Response:
        ctx = await page_context(request, project_id)
        q = request.query_params
        kind = q.get("kind") if q.get("kind") in session_list.KINDS else None
        tr = filters.time_range(q, default="all", allow_all=True)
        page = q.get("page", "1")
        page_no = min(int(page), 10_000) if page.isdigit() and int(page) > 0 else 1
        search = filters._text(q, "q")
        ids = None
        if search:
            ids = tuple(await session_list.search_session_ids(ctx.reads, ctx.project_id, search))
        values = await queries.filter_values(ctx.reads, ctx.project_id)
        sources = values["sources"] + [p for p in values["providers"]
                                       if p not in values["sources"]]
        source = q.get("source") if q.get("source") in sources else None
        f = session_list.SessionFilters(kind, source, tr.date_from, tr.date_to, ids)
        rows, total = await session_list.list_sessions(
            ctx.reads, ctx.project_id, f, filters.PAGE_SIZE, (page_no - 1) * filters.PAGE_SIZE
        )
        return render("sessions.html", ctx, nav="sessions", rows=[orjson.loads(x) for x in rows],
                      total=total, kind=kind, range=tr, page=page_no, q=search,
                      sources=sources, source=source,
                      pages=max(1, -(-total // filters.PAGE_SIZE)), onboard=onboarding(ctx),
                      ranges=("24h", "7d", "30d", "all"))

    def session_id_of(request: Request, suffix: str | None) -> str:
        """The id from the raw path (one percent-encoded segment, ``/`` allowed in it)."""
        tail = encoded_tail(request, base)
        if len(tail) == (1 if suffix is None else 2) and (suffix is None or tail[1] == suffix):
            return tail[0]
        raise PageError(404, "Session not found")

    @r.get(base + "/{session_id:path}/timeline", response_class=HTMLResponse)
    async def session_timeline(request: Request, project_id: str, session_id: str) -> Response:
        """The timeline alone (live refresh); ``data-count`` tells the script what changed."""
        if len(encoded_tail(request, base)) == 1:  # an id ending in "%2Ftimeline": its page
            return await session_detail(request, project_id, session_id)
        ctx = await page_context(request, project_id, fragment=True)
        session_id = session_id_of(request, "timeline")
        traces, spans = await _load(ctx, session_id)
        if not traces and not spans:
            raise PageError(404, "Session not found")
        return render("_timeline.html", ctx, sid=session_id, tl=timeline.build(traces, spans))

    @r.get(base + "/{session_id:path}", response_class=HTMLResponse)
    async def session_detail(request: Request, project_id: str, session_id: str) -> Response:
        ctx = await page_context(request, project_id)
        session_id = session_id_of(request, None)
        traces, spans = await _load(ctx, session_id)
        if not traces and not spans:
            raise PageError(404, "Session not found")
        tl = timeline.build(traces, spans)
        truncated = len(traces) >= MAX_ITEMS or len(spans) >= MAX_ITEMS
        return render("session.html", ctx, nav="sessions", sid=session_id, tl=tl,
                      truncated=truncated, max_items=MAX_ITEMS)

    @r.get("/dashboard/p/{project_id}/otel/{otel_trace_id}", response_class=HTMLResponse)
    async def otel_tree(request: Request, project_id: str, otel_trace_id: str) -> Response:
        """Every trace and span sharing one OpenTelemetry trace id, nested as sent (OTel parent
        ids, parent_span_id, sub-agent runs), with the session replay's waterfall."""
        ctx = await page_context(request, project_id)
        if len(otel_trace_id) > 64 or "\x00" in otel_trace_id:
            raise PageError(404, "Trace not found")
        traces, spans = await queries.otel_trace_records(ctx.reads, ctx.project_id,
                                                         otel_trace_id, MAX_ITEMS)
        if not traces and not spans:
            raise PageError(404, "Trace not found")
        sessions = sorted({orjson.loads(r).get("sessionId") for r in traces + spans} - {None})
        truncated = len(traces) >= MAX_ITEMS or len(spans) >= MAX_ITEMS
        return render("tree.html", ctx, nav="traces", otel_id=otel_trace_id,
                      tl=timeline.build(traces, spans), sessions=sessions[:5],
                      truncated=truncated, max_items=MAX_ITEMS)

    return r
