"""Retention: drop data older than ``retention_days`` (docs/sql.md §Retention), on a schedule.

The cutoff is aligned to a UTC midnight (``today - retention_days``), the boundary of the
1-day chunks and of the daily rollups, so what remains is always consistent: raw rows and every
rollup bucket before the cutoff go, everything from the cutoff on stays.

TimescaleDB: ``drop_chunks`` removes whole chunks before the cutoff (cheap, no dead tuples); a
bounded batched DELETE then clears anything older still left (chunks created with another
interval). Plain PostgreSQL: DELETE in batches of ``batch_rows`` so no statement holds locks or
builds WAL for long. The record keys (migration 014) older than the cutoff go the same way, after
their rows. Session summaries and tool calls (migration 009) whose last activity is
before the cutoff are removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("pulse.storage.retention")

_RAW = (("traces", "trace_id"), ("spans", "span_id"))
# One key per stored record id (migration 014): they go with their rows, so an id whose row
# retention deleted can be stored again.
_KEYS = (("trace_keys", "trace_id"), ("span_keys", "span_id"))
_BUCKETED = (
    "llm_usage_hourly", "llm_usage_daily", "llm_session_hourly",
    "trace_counts_hourly", "span_counts_hourly",  # list totals (migration 008)
    "span_units_hourly",  # span analytics (migration 009)
    "llm_session_daily",  # distinct sessions per day (migration 010)
    "llm_session_model_daily",  # distinct sessions per day, provider, model (migration 011)
)


@dataclass
class RetentionReport:
    cutoff: datetime
    deleted: dict[str, int] = field(default_factory=dict)


def cutoff_for(retention_days: int, now: datetime | None = None) -> datetime:
    today = (now or datetime.now(UTC)).astimezone(UTC).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return today - timedelta(days=retention_days)


async def _timescale(conn) -> bool:
    cur = await conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    return await cur.fetchone() is not None


async def _drop_chunks(conn, table: str, cutoff: datetime) -> int:
    cur = await conn.execute(
        "SELECT count(*) FROM drop_chunks(%s::regclass, older_than => %s::timestamptz)",
        (f"pulse.{table}", cutoff),
    )
    return (await cur.fetchone())[0]


async def _delete_batched(
    pool, table: str, key: str, cutoff: datetime, batch: int, scope: str, args: list
) -> int:
    total = 0
    sql = (
        f"DELETE FROM pulse.{table} t USING (SELECT project_id, {key}, \"timestamp\""
        f' FROM pulse.{table} WHERE "timestamp" < %s{scope} LIMIT %s) d'
        f" WHERE t.project_id = d.project_id AND t.{key} = d.{key}"
        ' AND t."timestamp" = d."timestamp"'
    )
    while True:
        async with pool.connection() as conn:
            cur = await conn.execute(sql, (cutoff, *args, batch))
            total += cur.rowcount
        if cur.rowcount < batch:
            return total


async def run_retention(
    pool: AsyncConnectionPool,
    retention_days: int,
    *,
    now: datetime | None = None,
    batch_rows: int = 10_000,
    project_id: UUID | None = None,
) -> RetentionReport:
    """Delete everything older than the cutoff; return what was removed per table.

    ``project_id`` limits the run to one project (then chunks are never dropped, rows are
    deleted in batches): for tests and for a future per-project retention.
    """
    report = RetentionReport(cutoff_for(retention_days, now))
    scope, args = ("", []) if project_id is None else (" AND project_id = %s", [project_id])
    async with pool.connection() as conn:
        if project_id is None and await _timescale(conn):
            for table, _ in _RAW:
                report.deleted[f"{table}_chunks"] = await _drop_chunks(conn, table, report.cutoff)
    for table, key in _RAW + _KEYS:
        report.deleted[table] = await _delete_batched(
            pool, table, key, report.cutoff, batch_rows, scope, args
        )
    async with pool.connection() as conn:
        for table in _BUCKETED:
            cur = await conn.execute(
                f"DELETE FROM pulse.{table} WHERE bucket < %s{scope}", (report.cutoff, *args)
            )
            report.deleted[table] = cur.rowcount
        cur = await conn.execute(
            f"DELETE FROM pulse.session_summaries WHERE last_ts < %s{scope}",
            (report.cutoff, *args),
        )
        report.deleted["session_summaries"] = cur.rowcount
        cur = await conn.execute(
            f"DELETE FROM pulse.span_tool_calls WHERE last_ts < %s{scope}",
            (report.cutoff, *args),
        )
        report.deleted["span_tool_calls"] = cur.rowcount
    return report


class RetentionJob:
    """Runs :func:`run_retention` every ``interval_s`` seconds while entered
    (docs/architecture.md §Habits, 6).

    ``retention_days`` 0 disables it. A failed run is logged and retried at the next interval.
    """

    def __init__(
        self, pool: AsyncConnectionPool, retention_days: int, interval_s: float = 3600.0
    ) -> None:
        self.pool, self.retention_days, self.interval_s = pool, retention_days, interval_s
        self._task: asyncio.Task | None = None
        self.last_report: RetentionReport | None = None

    async def __aenter__(self) -> RetentionJob:
        if self.retention_days > 0:
            self._task = asyncio.create_task(self._loop(), name="pulse-retention")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                self.last_report = await run_retention(self.pool, self.retention_days)
                log.info("retention: %s", self.last_report.deleted)
            except Exception:  # keep the service up; the next run tries again
                log.exception("retention run failed")
            await asyncio.sleep(self.interval_s)
