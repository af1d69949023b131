"""Session lists (``GET /v1/sessions``) from ``pulse.session_summaries``.

The summaries are maintained on write (storage/rollups.py), one row per session and kind:
``llm`` sessions group traces by ``session_id``, ``agent`` sessions group spans. A session id used
by both appears twice, once per kind. Listing is newest activity first; a date range selects
sessions active in it (``lastTimestamp >= date_from`` and ``firstTimestamp <= date_to``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

_TS = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

SESSION_JSON = f"""json_build_object(
  'sessionId', session_id, 'kind', kind, 'source', source, 'model', model,
  'firstTimestamp', {_TS.format("first_ts")}, 'lastTimestamp', {_TS.format("last_ts")},
  'durationMs', extract(epoch FROM last_ts - first_ts) * 1000,
  'traceCount', CASE WHEN kind = 'llm' THEN items ELSE 0 END,
  'spanCount', CASE WHEN kind = 'agent' THEN items ELSE 0 END,
  'toolCalls', tool_calls, 'inputTokens', input_tokens, 'outputTokens', output_tokens,
  'totalTokens', input_tokens + output_tokens, 'costCents', trim_scale(cost_cents),
  'errors', errors, 'firstPrompt', first_prompt)::text"""


@dataclass(frozen=True, slots=True)
class SessionFilters:
    kind: str | None = None  # llm | agent
    source: str | None = None  # agent source, or the provider of an llm session
    date_from: datetime | None = None
    date_to: datetime | None = None


def _where(project_id: UUID, f: SessionFilters) -> tuple[str, list[Any]]:
    clauses, args = ["project_id = %s"], [project_id]
    for column, value in (("kind", f.kind), ("source", f.source)):
        if value is not None:
            clauses.append(f"{column} = %s")
            args.append(value)
    if f.date_from is not None:
        clauses.append("last_ts >= %s")
        args.append(f.date_from)
    if f.date_to is not None:
        clauses.append("first_ts <= %s")
        args.append(f.date_to)
    return " AND ".join(clauses), args


async def list_sessions(
    pool: AsyncConnectionPool, project_id: UUID, f: SessionFilters, limit: int, offset: int
) -> tuple[list[str], int]:
    """(rows as JSON text, total matching) - newest activity first."""
    where, args = _where(project_id, f)
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {SESSION_JSON} FROM pulse.session_summaries WHERE {where}"
            " ORDER BY last_ts DESC, session_id, kind LIMIT %s OFFSET %s",
            [*args, limit, offset],
        )
        rows = [r[0] for r in await cur.fetchall()]
        if offset == 0 and len(rows) < limit:
            return rows, len(rows)
        count = f"SELECT count(*) FROM pulse.session_summaries WHERE {where}"
        cur = await conn.execute(count, args)
        return rows, (await cur.fetchone())[0]
