"""Session lists (``GET /v1/sessions``, the Sessions page) from ``pulse.session_summaries``.

The summaries are maintained on write (storage/rollups.py), one row per session and kind:
``llm`` parts group traces by ``session_id``, ``agent`` parts group spans. A list row is one
session id: its two parts (when both exist) are merged on read, and its ``kind`` is ``llm``,
``agent`` or ``both``. Listing is newest activity first; a date range selects sessions active in
it (``lastTimestamp >= date_from`` and ``firstTimestamp <= date_to``).

Merging on read stays an index walk: each session is represented by its part with the latest
activity (ties: ``agent`` before ``llm``), found by walking ``(project_id, last_ts DESC)`` and
probing the other part by primary key, so a page costs what it cost with one row per part.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

KINDS = ("llm", "agent", "both")

_TS = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

# s: the representative part, o: the other part of the same session id (LEFT JOIN, may be null)
_FROM = """pulse.session_summaries s
LEFT JOIN pulse.session_summaries o
  ON o.project_id = s.project_id AND o.session_id = s.session_id
 AND o.kind = CASE s.kind WHEN 'llm' THEN 'agent' ELSE 'llm' END"""
_REPRESENTATIVE = ("(o.session_id IS NULL OR s.last_ts > o.last_ts"
                   " OR (s.last_ts = o.last_ts AND s.kind = 'agent'))")


def _part(kind: str, column: str) -> str:
    """``column`` of the session's ``kind`` part (null when it has none)."""
    return f"CASE WHEN s.kind = '{kind}' THEN s.{column} ELSE o.{column} END"


_FIRST = "least(s.first_ts, coalesce(o.first_ts, s.first_ts))"
_LAST = "greatest(s.last_ts, coalesce(o.last_ts, s.last_ts))"
_PROMPT = ("CASE WHEN o.first_prompt IS NOT NULL AND (s.first_prompt IS NULL"
           " OR o.first_prompt_ts < s.first_prompt_ts) THEN o.first_prompt"
           " ELSE s.first_prompt END")


def _sum(column: str) -> str:
    return f"(s.{column} + coalesce(o.{column}, 0))"


SESSION_JSON = f"""json_build_object(
  'sessionId', s.session_id,
  'kind', CASE WHEN o.session_id IS NULL THEN s.kind ELSE 'both' END,
  'source', coalesce({_part('agent', 'source')}, {_part('llm', 'source')}),
  'model', coalesce({_part('llm', 'model')}, {_part('agent', 'model')}),
  'firstTimestamp', {_TS.format(_FIRST)}, 'lastTimestamp', {_TS.format(_LAST)},
  'durationMs', extract(epoch FROM {_LAST} - {_FIRST}) * 1000,
  'traceCount', coalesce({_part('llm', 'items')}, 0),
  'spanCount', coalesce({_part('agent', 'items')}, 0),
  'toolCalls', {_sum('tool_calls')}, 'inputTokens', {_sum('input_tokens')},
  'outputTokens', {_sum('output_tokens')},
  'totalTokens', {_sum('input_tokens')} + {_sum('output_tokens')},
  'costCents', trim_scale({_sum('cost_cents')}),
  'errors', {_sum('errors')}, 'firstPrompt', {_PROMPT})::text"""


@dataclass(frozen=True, slots=True)
class SessionFilters:
    kind: str | None = None  # llm | agent (sessions that have that part) | both
    source: str | None = None  # agent source, or the provider of an llm part
    date_from: datetime | None = None
    date_to: datetime | None = None
    ids: tuple[str, ...] | None = None  # only these session ids (a search's matches)


def _where(project_id: UUID, f: SessionFilters) -> tuple[str, list[Any]]:
    clauses, args = ["s.project_id = %s", _REPRESENTATIVE], [project_id]
    if f.kind == "both":
        clauses.append("o.session_id IS NOT NULL")
    elif f.kind is not None:
        clauses.append("(s.kind = %s OR o.kind = %s)")
        args += [f.kind, f.kind]
    if f.source is not None:
        clauses.append("(s.source = %s OR o.source = %s)")
        args += [f.source, f.source]
    if f.ids is not None:
        clauses.append("s.session_id = ANY(%s)")
        args.append(list(f.ids))
    if f.date_from is not None:
        clauses.append("s.last_ts >= %s")  # the representative holds the latest activity
        args.append(f.date_from)
    if f.date_to is not None:
        clauses.append(f"{_FIRST} <= %s")
        args.append(f.date_to)
    return " AND ".join(clauses), args


async def list_sessions(
    pool: AsyncConnectionPool, project_id: UUID, f: SessionFilters, limit: int, offset: int
) -> tuple[list[str], int]:
    """(rows as JSON text, total matching) - one row per session id, newest activity first."""
    where, args = _where(project_id, f)
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {SESSION_JSON} FROM {_FROM} WHERE {where}"
            " ORDER BY s.last_ts DESC, s.session_id LIMIT %s OFFSET %s",
            [*args, limit, offset],
        )
        rows = [r[0] for r in await cur.fetchall()]
        if offset == 0 and len(rows) < limit:
            return rows, len(rows)
        cur = await conn.execute(f"SELECT count(*) FROM {_FROM} WHERE {where}", args)
        return rows, (await cur.fetchone())[0]


SEARCH_SESSIONS_MAX = 500


async def search_session_ids(pool: AsyncConnectionPool, project_id: UUID, q: str) -> list[str]:
    """Ids of the sessions whose traces or spans match the full-text search ``q`` (at most
    ``SEARCH_SESSIONS_MAX``; the GIN indexes of migration 021)."""
    sql_text = """
    SELECT DISTINCT session_id FROM (
        (SELECT session_id FROM pulse.traces WHERE project_id = %(p)s
           AND session_id IS NOT NULL
           AND pulse.trace_search_doc(request_body, output_text)
               @@ pulse.search_query(%(q)s) LIMIT %(n)s)
        UNION ALL
        (SELECT session_id FROM pulse.spans WHERE project_id = %(p)s
           AND pulse.span_search_doc(tool_input, tool_response, metadata)
               @@ pulse.search_query(%(q)s) LIMIT %(n)s)) x
    LIMIT %(n)s"""
    async with pool.connection() as conn:
        cur = await conn.execute(sql_text, {"p": project_id, "q": q, "n": SEARCH_SESSIONS_MAX})
        return [r[0] for r in await cur.fetchall()]
