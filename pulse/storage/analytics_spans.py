"""Agent-activity analytics (``GET /v1/analytics/spans``, SPEC.md §4) over raw span rows.

Units: a tool call is ONE unit however many of its events arrived - Claude Code hook spans send
``pre_tool_use`` and ``post_tool_use`` rows sharing a ``tool_use_id`` (OTel-derived spans share one
span id, so they are one row already). A tool call's duration is its ``duration_ms`` or, when
absent, the time between its first and last event. Every other span is a unit of its own.
``avgDurationMs``, ``successRate``/``errorRate`` and ``topTools`` are over units; ``totalSpans``,
``spansByKind``/``BySource``/``OverTime`` count raw rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

TOP_TOOLS = 10

_UNITS = """
WITH s AS (
    SELECT * FROM pulse.spans
    WHERE project_id = %(p)s AND "timestamp" >= %(f)s AND "timestamp" <= %(t)s
), units AS (
    SELECT 'tool_use' AS kind, max(tool_name) AS tool_name,
           CASE WHEN bool_or(status = 'error') THEN 'error'
                WHEN bool_or(status = 'success') THEN 'success' END AS status,
           coalesce(max(duration_ms), CASE WHEN count(*) > 1 THEN
               extract(epoch FROM max("timestamp") - min("timestamp")) * 1000 END) AS duration
    FROM s WHERE kind = 'tool_use'
    GROUP BY coalesce(tool_use_id, span_id::text)
    UNION ALL
    SELECT kind, tool_name, status, duration_ms FROM s WHERE kind <> 'tool_use'
)
"""

_SUMMARY = _UNITS + """
SELECT (SELECT count(*) FROM s),
       (SELECT count(*) FROM s WHERE kind = 'agent_run'),
       count(*) FILTER (WHERE kind = 'tool_use'),
       count(*),
       avg(duration),
       count(*) FILTER (WHERE status = 'success'),
       count(*) FILTER (WHERE status = 'error'),
       (SELECT avg(d) FROM (SELECT extract(epoch FROM max("timestamp") - min("timestamp")) * 1000
                            AS d FROM s GROUP BY session_id) x)
FROM units
"""

_TOP_TOOLS = _UNITS + """
SELECT tool_name, count(*) FROM units WHERE kind = 'tool_use' AND tool_name IS NOT NULL
GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %(top)s
"""

_COUNTS = """
SELECT {col}, count(*) FROM pulse.spans
WHERE project_id = %(p)s AND "timestamp" >= %(f)s AND "timestamp" <= %(t)s
GROUP BY 1 ORDER BY 2 DESC, 1
"""


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
    args = {"p": project_id, "f": date_from, "t": date_to, "top": TOP_TOOLS}
    fmt = "YYYY-MM-DD HH24:00:00" if group_by == "hour" else "YYYY-MM-DD"
    period = f"""to_char("timestamp" AT TIME ZONE 'UTC', '{fmt}')"""
    async with pool.connection() as conn:
        total, runs, tools, units, avg_d, ok, err, avg_s = await (
            await conn.execute(_SUMMARY, args)
        ).fetchone()
        top = await (await conn.execute(_TOP_TOOLS, args)).fetchall()
        kinds = await (await conn.execute(_COUNTS.format(col="kind"), args)).fetchall()
        sources = await (await conn.execute(_COUNTS.format(col="source"), args)).fetchall()
        over = await (await conn.execute(
            _COUNTS.format(col=period).replace("ORDER BY 2 DESC, 1", "ORDER BY 1"), args
        )).fetchall()
    return {
        "totalSpans": total,
        "agentRuns": runs,
        "toolCalls": tools,
        "avgSessionDurationMs": float(avg_s or 0),
        "avgDurationMs": float(avg_d or 0),
        "successRate": _pct(ok, units),
        "errorRate": _pct(err, units),
        "topTools": [{"name": n, "count": c} for n, c in top],
        "spansByKind": [{"kind": k, "count": c} for k, c in kinds],
        "spansBySource": [{"source": s, "count": c} for s, c in sources],
        "spansOverTime": [{"period": p, "count": c} for p, c in over],
        "groupBy": group_by,
    }
