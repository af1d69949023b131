"""Named read functions for traces, spans and sessions (SPEC.md §4).

Rows come back as JSON text in the API's row shape (camelCase keys, nulls kept, UTC timestamps
with milliseconds), built by PostgreSQL with ``json_build_object``: the API passes them through
without decoding and re-encoding request/response bodies in Python.

Every function is scoped by ``project_id``; there is no way to read across projects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg_pool import AsyncConnectionPool

_TS = """to_char("timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""

TRACE_JSON = f"""json_build_object(
  'traceId', trace_id, 'projectId', project_id, 'sessionId', session_id,
  'timestamp', {_TS}, 'latencyMs', latency_ms, 'provider', provider,
  'modelRequested', model_requested, 'modelUsed', model_used,
  'providerRequestId', provider_request_id, 'requestBody', request_body,
  'responseBody', response_body, 'inputTokens', input_tokens, 'outputTokens', output_tokens,
  'outputText', output_text, 'finishReason', finish_reason, 'status', status, 'error', error,
  'costCents', trim_scale(cost_cents), 'metadata', metadata,
  'otelTraceId', otel_trace_id, 'otelSpanId', otel_span_id,
  'otelParentSpanId', otel_parent_span_id, 'serviceName', service_name)::text"""

SPAN_JSON = f"""json_build_object(
  'spanId', span_id, 'projectId', project_id, 'sessionId', session_id,
  'parentSpanId', parent_span_id, 'timestamp', {_TS}, 'durationMs', duration_ms,
  'source', source, 'kind', kind, 'eventType', event_type, 'status', status,
  'toolUseId', tool_use_id, 'toolName', tool_name, 'toolInput', tool_input,
  'toolResponse', tool_response, 'error', error, 'isInterrupt', is_interrupt, 'cwd', cwd,
  'model', model, 'agentName', agent_name, 'metadata', metadata,
  'otelTraceId', otel_trace_id, 'otelSpanId', otel_span_id,
  'otelParentSpanId', otel_parent_span_id, 'serviceName', service_name)::text"""


@dataclass(frozen=True, slots=True)
class TraceFilters:
    session_id: str | None = None
    provider: str | None = None
    model: str | None = None  # matches requested or used model
    status: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class SpanFilters:
    session_id: str | None = None
    source: str | None = None
    kind: str | None = None
    tool_name: str | None = None
    status: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[str]  # JSON text, one per row
    total: int


def _where(project_id: UUID, filters: TraceFilters | SpanFilters) -> tuple[sql.Composed, list]:
    clauses: list[sql.Composable] = [sql.SQL("project_id = %s")]
    args: list[Any] = [project_id]
    for name in ("session_id", "provider", "source", "kind", "tool_name", "status"):
        value = getattr(filters, name, None)
        if value is not None:
            clauses.append(sql.SQL("{} = %s").format(sql.Identifier(name)))
            args.append(value)
    model = getattr(filters, "model", None)
    if model is not None:
        clauses.append(sql.SQL("(model_requested = %s OR model_used = %s)"))
        args += [model, model]
    if filters.date_from is not None:
        clauses.append(sql.SQL('"timestamp" >= %s'))
        args.append(filters.date_from)
    if filters.date_to is not None:
        clauses.append(sql.SQL('"timestamp" <= %s'))
        args.append(filters.date_to)
    return sql.SQL(" AND ").join(clauses), args


async def _page(
    pool: AsyncConnectionPool,
    table: str,
    row_json: str,
    key: str,
    project_id: UUID,
    filters: TraceFilters | SpanFilters,
    limit: int,
    offset: int,
) -> Page:
    where, args = _where(project_id, filters)
    tbl = sql.Identifier("pulse", table)
    listing = sql.SQL(
        'SELECT {row} FROM {tbl} WHERE {where} ORDER BY "timestamp" DESC, {key} DESC'
        " LIMIT %s OFFSET %s"
    ).format(row=sql.SQL(row_json), tbl=tbl, where=where, key=sql.Identifier(key))
    counting = sql.SQL("SELECT count(*) FROM {tbl} WHERE {where}").format(tbl=tbl, where=where)
    async with pool.connection() as conn:
        cur = await conn.execute(listing, [*args, limit, offset])
        rows = [r[0] for r in await cur.fetchall()]
        if offset == 0 and len(rows) < limit:
            total = len(rows)  # the page holds everything: no need to count
        else:
            cur = await conn.execute(counting, args)
            total = (await cur.fetchone())[0]
    return Page(rows, total)


async def list_traces(
    pool: AsyncConnectionPool, project_id: UUID, filters: TraceFilters, limit: int, offset: int
) -> Page:
    return await _page(pool, "traces", TRACE_JSON, "trace_id", project_id, filters, limit, offset)


async def list_spans(
    pool: AsyncConnectionPool, project_id: UUID, filters: SpanFilters, limit: int, offset: int
) -> Page:
    return await _page(pool, "spans", SPAN_JSON, "span_id", project_id, filters, limit, offset)


async def _by_ids(
    pool: AsyncConnectionPool,
    table: str,
    row_json: str,
    key: str,
    project_id: UUID,
    ids: list[UUID],
) -> dict[UUID, str]:
    query = sql.SQL("SELECT {key}, {row} FROM {tbl} WHERE project_id = %s AND {key} = ANY(%s)")
    query = query.format(
        key=sql.Identifier(key), row=sql.SQL(row_json), tbl=sql.Identifier("pulse", table)
    )
    async with pool.connection() as conn:
        cur = await conn.execute(query, (project_id, ids))
        return {r[0]: r[1] for r in await cur.fetchall()}


async def get_traces(pool: AsyncConnectionPool, project_id: UUID, ids: list[UUID]) -> dict:
    """``{trace_id: row JSON}`` for the ids that exist in the project."""
    return await _by_ids(pool, "traces", TRACE_JSON, "trace_id", project_id, ids)


async def get_spans(pool: AsyncConnectionPool, project_id: UUID, ids: list[UUID]) -> dict:
    """``{span_id: row JSON}`` for the ids that exist in the project."""
    return await _by_ids(pool, "spans", SPAN_JSON, "span_id", project_id, ids)


async def _session(
    pool: AsyncConnectionPool,
    table: str,
    row_json: str,
    key: str,
    project_id: UUID,
    session_id: str,
    limit: int,
    offset: int,
) -> list[str]:
    query = sql.SQL(
        "SELECT {row} FROM {tbl} WHERE project_id = %s AND session_id = %s"
        ' ORDER BY "timestamp", {key} LIMIT %s OFFSET %s'
    ).format(row=sql.SQL(row_json), tbl=sql.Identifier("pulse", table), key=sql.Identifier(key))
    async with pool.connection() as conn:
        cur = await conn.execute(query, (project_id, session_id, limit, offset))
        return [r[0] for r in await cur.fetchall()]


async def session_traces(
    pool: AsyncConnectionPool, project_id: UUID, session_id: str, limit: int, offset: int = 0
) -> list[str]:
    """The session's traces, oldest first (empty when the session is unknown)."""
    return await _session(
        pool, "traces", TRACE_JSON, "trace_id", project_id, session_id, limit, offset
    )


async def session_spans(
    pool: AsyncConnectionPool, project_id: UUID, session_id: str, limit: int, offset: int = 0
) -> list[str]:
    """The session's spans, oldest first (empty when the session is unknown)."""
    return await _session(
        pool, "spans", SPAN_JSON, "span_id", project_id, session_id, limit, offset
    )


async def ping(pool: AsyncConnectionPool) -> None:
    """Raise if the database cannot answer a trivial query."""
    async with pool.connection() as conn:
        await conn.execute("SELECT 1")
