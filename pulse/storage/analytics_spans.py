"""Agent-activity analytics (``GET /v1/analytics/spans``, docs/api.md §Span analytics) over rollups
+ raw edges.

Units: a tool call is ONE unit however many of its events arrived - Claude Code hook spans send
``pre_tool_use`` and ``post_tool_use`` rows sharing a ``tool_use_id`` (OTel-derived spans share one
span id, so they are one row already). A tool call's duration is its ``duration_ms`` or, when
absent, the time between its first and last event. Every other span is a unit of its own.
A sub-agent run from Claude Code hooks (``subagent_start`` + ``subagent_stop`` sharing
``metadata.agent_id``) is ONE agent run in ``agentRuns``.
``avgDurationMs``, ``successRate``/``errorRate`` and ``topTools`` are over units; ``totalSpans``,
``spansByKind``/``BySource``/``OverTime`` count raw rows. Everything is computed over the rows
inside the range only (a tool call with one event in range counts with that event alone).

Sources (migrations 008/009, maintained by the writer, see docs/sql.md), split like analytics.py
into whole hours [h1, h2) and raw partial-hour edges [f, h1), [h2, e):

* row counts: ``span_counts_hourly`` for whole hours, raw rows at the edges;
* units: ``span_units_hourly`` for whole hours (non-tool spans, and tool calls whose events all
  lie in one UTC hour); raw non-tool rows at the edges; tool calls that are multi-hour or in an
  edge hour come from ``span_tool_calls`` - their stored state when all their events are in the
  range, else their in-range raw rows (found by ``tool_use_id``);
* session duration: ``session_summaries`` (kind ``agent``) for sessions whose first and last
  span are in the range, the in-range raw min/max for sessions straddling an edge.

All three are exact: they equal the raw computation (tests/storage/test_span_analytics_property).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

TOP_TOOLS = 10
_US = timedelta(microseconds=1)
_HOUR = timedelta(hours=1)

_EDGES = """("timestamp" >= %(f)s AND "timestamp" < %(h1)s
             OR "timestamp" >= %(h2)s AND "timestamp" < %(e)s)"""

_COUNTS = """
WITH c AS (
    SELECT bucket AS hour, source, kind, n FROM pulse.span_counts_hourly
    WHERE project_id = %(p)s AND bucket >= %(h1)s AND bucket < %(h2)s
    UNION ALL
    SELECT date_trunc('hour', "timestamp", 'UTC'), source, kind, 1 FROM pulse.spans
    WHERE project_id = %(p)s AND """ + _EDGES + """
), g AS (
    SELECT to_char(hour AT TIME ZONE 'UTC', %(fmt)s) AS period, source, kind, sum(n) AS n
    FROM c GROUP BY 1, 2, 3
)
SELECT coalesce((SELECT sum(n) FROM g), 0),
       coalesce((SELECT sum(n) FROM g WHERE kind = 'agent_run'), 0),
       (SELECT json_agg(json_build_array(kind, n) ORDER BY n DESC, kind)
        FROM (SELECT kind, sum(n) AS n FROM g GROUP BY 1) x),
       (SELECT json_agg(json_build_array(source, n) ORDER BY n DESC, source)
        FROM (SELECT source, sum(n) AS n FROM g GROUP BY 1) x),
       (SELECT json_agg(json_build_array(period, n) ORDER BY period)
        FROM (SELECT period, sum(n) AS n FROM g GROUP BY 1) x)
"""

_CALL_STATUS = "CASE WHEN errors > 0 THEN 'error' WHEN successes > 0 THEN 'success' ELSE '' END"
_CALL_DUR = ("coalesce(duration_ms, CASE WHEN events > 1"
             " THEN extract(epoch FROM last_ts - first_ts)::float8 * 1000 END)")

_UNITS = """
WITH cand AS (
    SELECT call_id, first_ts, last_ts, events, tool_name, errors, successes, duration_ms
    FROM pulse.span_tool_calls
    WHERE project_id = %(p)s AND multi_hour AND last_ts >= %(f)s AND first_ts < %(e)s
    UNION ALL
    SELECT call_id, first_ts, last_ts, events, tool_name, errors, successes, duration_ms
    FROM pulse.span_tool_calls
    WHERE project_id = %(p)s AND NOT multi_hour
      AND (first_ts >= %(fh)s AND first_ts < %(h1)s AND last_ts >= %(f)s
           OR first_ts >= %(h2)s AND first_ts < %(e)s)
), u AS (
    SELECT kind, tool_name, status, units, dur_n, dur_sum FROM pulse.span_units_hourly
    WHERE project_id = %(p)s AND bucket >= %(h1)s AND bucket < %(h2)s
    UNION ALL
    SELECT kind, '', coalesce(status, ''), 1, (duration_ms IS NOT NULL)::int,
           coalesce(duration_ms, 0)
    FROM pulse.spans WHERE project_id = %(p)s AND kind <> 'tool_use' AND """ + _EDGES + """
    UNION ALL
    SELECT 'tool_use', tool_name, status, 1, (d IS NOT NULL)::int, coalesce(d, 0) FROM (
        SELECT coalesce(tool_name, '') AS tool_name, """ + _CALL_STATUS + """ AS status,
               """ + _CALL_DUR + """ AS d
        FROM cand WHERE first_ts >= %(f)s AND last_ts < %(e)s
        UNION ALL
        SELECT r.tool_name, r.status, r.d  -- part of the call outside: its in-range rows
        FROM cand c, LATERAL (
            SELECT count(*) AS n, coalesce(max(s.tool_name), '') AS tool_name,
                   CASE WHEN bool_or(s.status = 'error') THEN 'error'
                        WHEN bool_or(s.status = 'success') THEN 'success' ELSE '' END AS status,
                   coalesce(max(s.duration_ms), CASE WHEN count(*) > 1 THEN extract(
                       epoch FROM max(s."timestamp") - min(s."timestamp"))::float8 * 1000
                   END) AS d
            FROM pulse.spans s
            WHERE s.project_id = %(p)s AND s.tool_use_id = c.call_id AND s.kind = 'tool_use'
              AND s."timestamp" >= %(f)s AND s."timestamp" < %(e)s) r
        WHERE NOT (c.first_ts >= %(f)s AND c.last_ts < %(e)s) AND r.n > 0
    ) calls
)
SELECT coalesce(sum(units), 0), coalesce(sum(units) FILTER (WHERE kind = 'tool_use'), 0),
       coalesce(sum(dur_n), 0), sum(dur_sum),
       coalesce(sum(units) FILTER (WHERE status = 'success'), 0),
       coalesce(sum(units) FILTER (WHERE status = 'error'), 0),
       (SELECT json_agg(json_build_array(tool_name, n) ORDER BY n DESC, tool_name)
        FROM (SELECT tool_name, sum(units) AS n FROM u
              WHERE kind = 'tool_use' AND tool_name <> '' GROUP BY 1 HAVING sum(units) > 0
              ORDER BY 2 DESC, 1 LIMIT %(top)s) x)
FROM u
"""

# Sessions with first and last span in range: the summary; straddling ones: in-range raw rows.
_SESSIONS = """
SELECT avg(d) FROM (
    SELECT extract(epoch FROM last_ts - first_ts)::float8 * 1000 AS d
    FROM pulse.session_summaries
    WHERE project_id = %(p)s AND kind = 'agent' AND last_ts >= %(f)s AND first_ts < %(e)s
      AND first_ts >= %(f)s AND last_ts < %(e)s
    UNION ALL
    SELECT (SELECT extract(epoch FROM max("timestamp") - min("timestamp"))::float8 * 1000
            FROM pulse.spans s
            WHERE s.project_id = %(p)s AND s.session_id = ss.session_id
              AND s."timestamp" >= %(f)s AND s."timestamp" < %(e)s)
    FROM pulse.session_summaries ss
    WHERE project_id = %(p)s AND kind = 'agent' AND last_ts >= %(f)s AND first_ts < %(e)s
      AND NOT (first_ts >= %(f)s AND last_ts < %(e)s)
) x
"""

# A sub-agent from Claude Code hooks (the Pulse CLI) arrives as two agent_run rows,
# subagent_start and subagent_stop, sharing metadata.agent_id: one run. The rollups count rows,
# so the stops whose start is also in the range are subtracted on read (a stop without its start
# in the range still counts: it is the only trace of that run there).
_PAIRED_STOPS = """
SELECT count(*) FROM pulse.spans s
WHERE s.project_id = %(p)s AND s.kind = 'agent_run' AND s.event_type = 'subagent_stop'
  AND s."timestamp" >= %(f)s AND s."timestamp" < %(e)s AND s.metadata ? 'agent_id'
  AND EXISTS (
    SELECT 1 FROM pulse.spans t
    WHERE t.project_id = %(p)s AND t.session_id = s.session_id AND t.kind = 'agent_run'
      AND t.event_type = 'subagent_start' AND t.metadata->'agent_id' = s.metadata->'agent_id'
      AND t."timestamp" >= %(f)s AND t."timestamp" < %(e)s)
"""

# Retention deletes raw rows before its cutoff but keeps tool calls and session summaries that
# straddle it (with their first event before it). No raw row is older than the project's oldest
# span, so starting the range there changes nothing in the raw computation, and such calls and
# sessions then straddle the range start: they are computed from their remaining raw rows.
_OLDEST = 'SELECT min("timestamp") FROM pulse.spans WHERE project_id = %s'


def _floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def bounds(date_from: datetime, date_to: datetime) -> dict[str, datetime]:
    """f, exclusive end e, whole hours [h1, h2) (empty: h1 = h2 = e), fh = f's hour."""
    f, e = date_from.astimezone(UTC), date_to.astimezone(UTC) + _US
    fh = _floor_hour(f)
    h1, h2 = (fh if fh == f else fh + _HOUR), _floor_hour(e)
    if h1 >= h2:
        h1 = h2 = e
    return {"f": f, "e": e, "fh": fh, "h1": h1, "h2": h2}


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


async def span_analytics(
    pool: AsyncConnectionPool,
    project_id: UUID,
    date_from: datetime,
    date_to: datetime,
    group_by: str | None = None,
) -> dict[str, Any]:
    """The ``GET /v1/analytics/spans`` body (period per day, or per hour with group_by=hour)."""
    fmt = "YYYY-MM-DD HH24:00:00" if group_by == "hour" else "YYYY-MM-DD"
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # one snapshot
        # Small reads, but per-chunk index probes inflate the estimated cost past jit_above_cost:
        # JIT compilation would cost ~100 ms for ~10 ms of work.
        await conn.execute("SET LOCAL jit = off")
        (oldest,) = await (await conn.execute(_OLDEST, (project_id,))).fetchone()
        if oldest is not None and oldest > date_from:  # retention: see _OLDEST
            date_from = oldest
        args = {"p": project_id, "top": TOP_TOOLS, "fmt": fmt, **bounds(date_from, date_to)}
        total, runs, kinds, sources, over = await (await conn.execute(_COUNTS, args)).fetchone()
        units, tools, dur_n, dur_sum, ok, err, top = await (
            await conn.execute(_UNITS, args)
        ).fetchone()
        (avg_s,) = await (await conn.execute(_SESSIONS, args)).fetchone()
        (paired,) = await (await conn.execute(_PAIRED_STOPS, args)).fetchone()
    return {
        "totalSpans": int(total),
        "agentRuns": int(runs) - int(paired),
        "toolCalls": int(tools),
        "avgSessionDurationMs": float(avg_s or 0),
        "avgDurationMs": float(dur_sum) / int(dur_n) if dur_n else 0.0,
        "successRate": _pct(int(ok), int(units)),
        "errorRate": _pct(int(err), int(units)),
        "topTools": [{"name": n, "count": int(c)} for n, c in top or []],
        "spansByKind": [{"kind": k, "count": int(c)} for k, c in kinds or []],
        "spansBySource": [{"source": s, "count": int(c)} for s, c in sources or []],
        "spansOverTime": [{"period": p, "count": int(c)} for p, c in over or []],
        "groupBy": group_by,
    }
