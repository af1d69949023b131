"""Acceptance 4: retention removes old data and only old data, rollups included."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from pulse.records import SpanRecord, TraceRecord
from pulse.storage import analytics, retention, writer
from tests.conftest import make_project

NOW = datetime(2026, 3, 20, 15, 30, tzinfo=UTC)
CUTOFF = datetime(2026, 3, 10, tzinfo=UTC)  # 10 days before NOW's midnight


def _trace(ts: datetime) -> TraceRecord:
    return TraceRecord(uuid.uuid4(), ts, "openai", "gpt-4o", {}, "success", 10.0,
                       input_tokens=1, output_tokens=1, session_id=f"s-{ts.isoformat()}")


def _span(ts: datetime) -> SpanRecord:
    return SpanRecord(uuid.uuid4(), f"a-{ts.isoformat()}", ts, "claude_code", "tool_use",
                      "post_tool_use")


async def _ids(pool, table: str, key: str, project_id) -> set:
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {key} FROM pulse.{table} WHERE project_id = %s", (project_id,))
        return {r[0] for r in await cur.fetchall()}


async def test_retention_removes_old_data_and_only_old_data(pool):
    p = await make_project(pool)
    stamps = [CUTOFF - timedelta(days=5), CUTOFF - timedelta(microseconds=1), CUTOFF,
              CUTOFF + timedelta(hours=3), NOW]
    traces, spans = [_trace(t) for t in stamps], [_span(t) for t in stamps]
    await writer.write_records(pool, [(p.id, r) for r in traces + spans])

    report = await retention.run_retention(pool, 10, now=NOW, batch_rows=1, project_id=p.id)
    assert report.cutoff == CUTOFF
    assert await _ids(pool, "traces", "trace_id", p.id) == {t.trace_id for t in traces[2:]}
    assert await _ids(pool, "spans", "span_id", p.id) == {s.span_id for s in spans[2:]}
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT (SELECT min(bucket) FROM pulse.llm_usage_hourly WHERE project_id = %(p)s),"
            " (SELECT min(bucket) FROM pulse.llm_usage_daily WHERE project_id = %(p)s),"
            " (SELECT count(*) FROM pulse.session_summaries WHERE project_id = %(p)s)",
            {"p": p.id})
        hourly, daily, sessions = await cur.fetchone()
    assert hourly == daily == CUTOFF
    assert sessions == 6  # 3 llm + 3 agent sessions left
    wide = analytics.AnalyticsQuery(CUTOFF - timedelta(days=30), NOW)
    assert (await analytics.llm_analytics(pool, p.id, wide))["totalRequests"] == 3


async def test_whole_database_run_drops_old_chunks(pool, backend):
    """Unscoped run (drop_chunks on TimescaleDB), on dates no other test uses."""
    p = await make_project(pool)
    base = datetime(1990, 1, 10, tzinfo=UTC)
    old, kept = [_trace(base - timedelta(days=d)) for d in (1, 3)], _trace(base)
    await writer.write_records(pool, [(p.id, r) for r in [*old, kept]])
    report = await retention.run_retention(pool, 10, now=base + timedelta(days=10, hours=5))
    assert report.cutoff == base
    assert await _ids(pool, "traces", "trace_id", p.id) == {kept.trace_id}
    if backend.timescale:
        assert report.deleted["traces_chunks"] >= 2
        assert report.deleted["traces"] == 0  # whole chunks went, nothing left to delete


async def test_zero_days_job_does_nothing_and_job_runs_and_stops(pool):
    p = await make_project(pool)
    old = _trace(datetime(1900, 1, 1, tzinfo=UTC))
    await writer.write_records(pool, [(p.id, old)])
    async with retention.RetentionJob(pool, 0, interval_s=0.01) as job:
        await asyncio.sleep(0.05)
        assert job.last_report is None
    assert await _ids(pool, "traces", "trace_id", p.id) == {old.trace_id}
    async with retention.RetentionJob(pool, 36500, interval_s=60) as job:
        for _ in range(200):
            if job.last_report is not None:
                break
            await asyncio.sleep(0.02)
    assert job.last_report is not None
    assert await _ids(pool, "traces", "trace_id", p.id) == set()
