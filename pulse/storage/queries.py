"""Named read functions for traces, spans and sessions (docs/api.md §Query routes).

Rows come back as JSON text in the API's row shape (camelCase keys, nulls kept, UTC timestamps
with milliseconds), built by PostgreSQL with ``json_build_object`` from the column tables of
``pulse/row_shapes.py``: the API passes them through without decoding and re-encoding
request/response bodies in Python.

Every function is scoped by ``project_id``; there is no way to read across projects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from pulse import row_shapes


def _api_value(column: row_shapes.Column) -> str:
    """The SQL expression of a column's value in an API row."""
    if column.sql_type == "timestamp with time zone":  # UTC, milliseconds, Z
        return f"""to_char("{column.name}" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""
    if column.sql_type == "numeric":  # 0.750000 -> 0.75 (numeric(20, 6) keeps trailing zeros)
        return f"trim_scale({column.name})"
    return column.name


def row_json(table: tuple[row_shapes.Column, ...]) -> str:
    """``json_build_object('traceId', trace_id, ...)::text``: one API row, keys in table order."""
    pairs = ", ".join(f"'{c.api}', {_api_value(c)}" for c in row_shapes.returned(table))
    return f"json_build_object({pairs})::text"


TRACE_JSON = row_json(row_shapes.TRACES)
SPAN_JSON = row_json(row_shapes.SPANS)


@dataclass(frozen=True, slots=True)
class TraceFilters:
    session_id: str | None = None
    provider: str | None = None
    model: str | None = None  # matches requested or used model
    status: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    q: str | None = None  # full-text search (websearch syntax) over prompts and output


@dataclass(frozen=True, slots=True)
class SpanFilters:
    session_id: str | None = None
    source: str | None = None
    kind: str | None = None
    tool_name: str | None = None
    status: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    q: str | None = None  # full-text search over tool input/response, prompts, messages


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[str]  # JSON text, one per row
    total: int


_HOUR = timedelta(hours=1)
_US = timedelta(microseconds=1)
# Per-hour count table of each listed table (migration 008), keyed by every filter but
# session_id: traces by provider, model_requested, model_used, status; spans by source, kind,
# status, tool_name.
_COUNTS = {"traces": "trace_counts_hourly", "spans": "span_counts_hourly"}
_EQ_FILTERS = ("session_id", "provider", "source", "kind", "tool_name", "status")


def _filters(
    project_id: UUID, filters: TraceFilters | SpanFilters, *, model: bool = True
) -> tuple[list[sql.Composable], list]:
    """Equality filters (and the model OR, unless ``model`` is False) without the dates."""
    clauses: list[sql.Composable] = [sql.SQL("project_id = %s")]
    args: list[Any] = [project_id]
    for name in _EQ_FILTERS:
        value = getattr(filters, name, None)
        if value is not None:
            clauses.append(sql.SQL("{} = %s").format(sql.Identifier(name)))
            args.append(value)
    value = getattr(filters, "model", None)
    if model and value is not None:
        clauses.append(sql.SQL("(model_requested = %s OR model_used = %s)"))
        args += [value, value]
    if filters.q is not None:  # the exact expression of the GIN index (migration 021)
        doc = _TRACE_DOC if isinstance(filters, TraceFilters) else _SPAN_DOC
        clauses.append(sql.SQL(doc + " @@ pulse.search_query(%s)"))
        args.append(filters.q)
    return clauses, args


_TRACE_DOC = "pulse.trace_search_doc(request_body, output_text)"
_SPAN_DOC = "pulse.span_search_doc(tool_input, tool_response, metadata)"


def _where(
    project_id: UUID, filters: TraceFilters | SpanFilters, *, model: bool = True
) -> tuple[sql.Composed, list]:
    clauses, args = _filters(project_id, filters, model=model)
    if filters.date_from is not None:
        clauses.append(sql.SQL('"timestamp" >= %s'))
        args.append(filters.date_from)
    if filters.date_to is not None:
        clauses.append(sql.SQL('"timestamp" <= %s'))
        args.append(filters.date_to)
    return sql.SQL(" AND ").join(clauses), args


def _listing(
    table: str,
    row_json: str,
    key: str,
    project_id: UUID,
    filters: TraceFilters | SpanFilters,
    limit: int,
    offset: int,
) -> tuple[sql.Composed, list]:
    """The page query and its arguments.

    ``model=`` matches requested OR used model, which no single index range serves: the page is
    then the merge of two index-ordered scans over disjoint sets (requested = X; used = X and
    used <> requested, served by the small partial index traces_model_diverged_idx), each cut
    at ``limit + offset`` rows.
    """
    tbl = sql.Identifier("pulse", table)
    order = sql.SQL('ORDER BY "timestamp" DESC, {} DESC').format(sql.Identifier(key))
    model = getattr(filters, "model", None)
    if model is None:
        where, args = _where(project_id, filters)
        query = sql.SQL("SELECT {row} FROM {tbl} WHERE {where} {order} LIMIT %s OFFSET %s")
        query = query.format(row=sql.SQL(row_json), tbl=tbl, where=where, order=order)
        return query, [*args, limit, offset]
    where, args = _where(project_id, filters, model=False)
    query = sql.SQL(
        "SELECT {row} FROM ((SELECT * FROM {tbl} WHERE {where} AND model_requested = %s"
        " {order} LIMIT %s) UNION ALL (SELECT * FROM {tbl} WHERE {where} AND model_used = %s"
        " AND model_used <> model_requested {order} LIMIT %s)) t {order} LIMIT %s OFFSET %s"
    ).format(row=sql.SQL(row_json), tbl=tbl, where=where, order=order)
    n = limit + offset
    return query, [*args, model, n, *args, model, n, limit, offset]


def _hour_floor(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _total_query(
    table: str, project_id: UUID, filters: TraceFilters | SpanFilters
) -> tuple[sql.Composed, list]:
    """One statement (one snapshot) whose result is ``count(*)`` of the filter.

    A session's rows are few and indexed: counted directly. Otherwise whole UTC hours come from
    the per-hour count table and only the partial hours at the edges of the date range are
    counted from raw rows. Hours before the project's oldest raw row are ignored, so counts of
    rows that retention already deleted never leak into the total.
    """
    tbl = sql.Identifier("pulse", table)
    # a session's rows are few; a search is not in the count tables: both count raw rows
    if getattr(filters, "session_id", None) is not None or filters.q is not None:
        where, args = _where(project_id, filters)
        return sql.SQL("SELECT count(*) FROM {} WHERE {}").format(tbl, where), args
    clauses, fargs = _filters(project_id, filters)
    filt = sql.SQL(" AND ").join(clauses)
    f, e = filters.date_from, filters.date_to
    e = None if e is None else e + _US  # exclusive end (timestamps have microsecond precision)
    h1 = None if f is None else _hour_floor(f - _US) + _HOUR  # first whole hour from f on
    h2 = None if e is None else _hour_floor(e)
    raw = sql.SQL('(SELECT count(*) FROM {tbl} WHERE {filt} AND "timestamp" >= %s'
                  ' AND "timestamp" < %s)').format(tbl=tbl, filt=filt)
    if f is not None and e is not None and h1 >= h2:  # within one hour: raw rows only
        return sql.SQL("SELECT {}").format(raw), [*fargs, f, e]
    rollup = sql.SQL(
        "coalesce((SELECT sum(n) FROM {counts} WHERE {filt} AND bucket >= (SELECT coalesce("
        "date_trunc('hour', min(\"timestamp\"), 'UTC'), 'infinity') FROM {tbl}"
        " WHERE project_id = %s)"
    ).format(counts=sql.Identifier("pulse", _COUNTS[table]), filt=filt, tbl=tbl)
    parts: list[sql.Composable] = [rollup]
    args: list[Any] = [*fargs, project_id]
    if h1 is not None:
        parts.append(sql.SQL(" AND bucket >= %s"))
        args.append(h1)
    if h2 is not None:
        parts.append(sql.SQL(" AND bucket < %s"))
        args.append(h2)
    parts.append(sql.SQL("), 0)::bigint"))
    if f is not None and f < h1:
        parts += [sql.SQL(" + "), raw]
        args += [*fargs, f, h1]
    if e is not None and h2 < e:
        parts += [sql.SQL(" + "), raw]
        args += [*fargs, h2, e]
    return sql.SQL("SELECT ") + sql.Composed(parts), args


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
    if filters.q is not None:
        found = await _search_page(pool, table, row_json, key, project_id, filters, limit,
                                   offset)
        if found is not None:
            return found
    listing, args = _listing(table, row_json, key, project_id, filters, limit, offset)
    async with pool.connection() as conn, conn.transaction():
        if filters.q is not None:  # the count's bitmap stays exact: no document recomputed
            await conn.execute("SET LOCAL work_mem = '32MB'")
        cur = await conn.execute(listing, args)
        rows = [r[0] for r in await cur.fetchall()]
        if offset == 0 and len(rows) < limit:
            total = len(rows)  # the page holds everything: no need to count
        else:
            counting, cargs = _total_query(table, project_id, filters)
            cur = await conn.execute(counting, cargs)
            total = (await cur.fetchone())[0]
    return Page(rows, total)


# A search matching at most this many rows is answered from the GIN index alone (all matches,
# then sorted); beyond, the newest-first index walk finds a page quickly. The planner cannot
# tell the two apart (it does not know how rare a word is), and the wrong plan costs seconds:
# walking by time for a rare word reads most of the table, a bitmap of a common word goes lossy
# and recomputes every document.
SEARCH_BITMAP_MAX = 5000


async def _search_page(pool, table: str, row_json: str, key: str, project_id: UUID,
                       filters: TraceFilters | SpanFilters, limit: int,
                       offset: int) -> Page | None:
    """The page of a rare search (None when it matches more than ``SEARCH_BITMAP_MAX``)."""
    tbl = sql.Identifier("pulse", table)
    where, args = _where(project_id, filters)
    ids = sql.SQL("SELECT {key} FROM {tbl} WHERE {where} LIMIT %s").format(
        key=sql.Identifier(key), tbl=tbl, where=where)
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")  # the GIN bitmap, nothing else
        await conn.execute("SET LOCAL enable_indexscan = off")
        await conn.execute("SET LOCAL work_mem = '32MB'")  # an exact (not lossy) bitmap
        cur = await conn.execute(ids, [*args, SEARCH_BITMAP_MAX + 1])
        found = [r[0] for r in await cur.fetchall()]
        if len(found) > SEARCH_BITMAP_MAX:
            return None
        await conn.execute("RESET enable_indexscan")
        await conn.execute("RESET enable_seqscan")
        query = sql.SQL(
            "SELECT {row} FROM {tbl} WHERE project_id = %s AND {key} = ANY(%s)"
            ' ORDER BY "timestamp" DESC, {key} DESC LIMIT %s OFFSET %s'
        ).format(row=sql.SQL(row_json), tbl=tbl, key=sql.Identifier(key))
        cur = await conn.execute(query, [project_id, found, limit, offset])
        return Page([r[0] for r in await cur.fetchall()], len(found))


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


async def otel_trace_records(
    pool: AsyncConnectionPool, project_id: UUID, otel_trace_id: str, limit: int
) -> tuple[list[str], list[str]]:
    """(traces, spans) as JSON rows sharing one OpenTelemetry trace id, oldest first."""
    out = []
    async with pool.connection() as conn:
        for table, row_json, key in (("traces", TRACE_JSON, "trace_id"),
                                     ("spans", SPAN_JSON, "span_id")):
            query = sql.SQL(
                "SELECT {row} FROM {tbl} WHERE project_id = %s AND otel_trace_id = %s"
                ' ORDER BY "timestamp", {key} LIMIT %s'
            ).format(row=sql.SQL(row_json), tbl=sql.Identifier("pulse", table),
                     key=sql.Identifier(key))
            cur = await conn.execute(query, (project_id, otel_trace_id, limit))
            out.append([r[0] for r in await cur.fetchall()])
    return out[0], out[1]


def normalise_provider(value: str) -> str:
    """Providers are stored lower-case (the mapping's names); filters compare the same way."""
    return value.strip().lower()


_VALUES = {
    "providers": "SELECT DISTINCT provider FROM pulse.llm_usage_hourly WHERE project_id = %s",
    "models": "SELECT DISTINCT model FROM pulse.llm_usage_hourly WHERE project_id = %s",
    "sources": "SELECT DISTINCT source FROM pulse.span_counts_hourly WHERE project_id = %s",
    "kinds": "SELECT DISTINCT kind FROM pulse.span_counts_hourly WHERE project_id = %s",
    "tools": "SELECT DISTINCT tool_name FROM pulse.span_counts_hourly"
             " WHERE project_id = %s AND tool_name <> ''",
}


async def filter_values(pool: AsyncConnectionPool, project_id: UUID,
                        limit: int = 500) -> dict[str, list[str]]:
    """The values that exist in the project, for the dashboard's filter suggestions (from the
    hourly rollups: one row per value and hour, never the raw rows)."""
    out = {}
    async with pool.connection() as conn:
        for name, query in _VALUES.items():
            cur = await conn.execute(f"SELECT v FROM ({query}) x(v) ORDER BY 1 LIMIT %s",
                                     (project_id, limit))
            out[name] = [r[0] for r in await cur.fetchall()]
    return out
