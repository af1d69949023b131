"""The writer loop against a real database: poison records and metric points, undecodable and
corrupted entries, replays.

Exact-count oracles: every good record lands exactly once, every bad one is dead-lettered once.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pulse.main import storage_functions
from pulse.pipeline import IngestMetrics, WriterLoop, codec
from pulse.queue import FileQueue
from pulse.records import MetricPoint, SpanRecord, TraceRecord
from pulse.storage import writer
from pulse.storage.metric_points import list_metric_points
from tests.conftest import make_project

T0 = datetime(2026, 2, 1, tzinfo=UTC)


def good_trace(i: int) -> TraceRecord:
    return TraceRecord(
        trace_id=uuid.uuid4(), timestamp=T0 + timedelta(seconds=i), provider="openai",
        model_requested="gpt-4o", request_body={"i": i}, status="success", latency_ms=1.0,
    )


def good_span(i: int) -> SpanRecord:
    return SpanRecord(span_id=uuid.uuid4(), session_id="s", timestamp=T0 + timedelta(seconds=i),
                      source="claude_code", kind="tool_use", event_type="post_tool_use")


async def rows(pool, sql: str, *args):
    async with pool.connection() as conn:
        cur = await conn.execute(sql, args)
        return await cur.fetchall()


async def drain(queue: FileQueue, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while queue.depth() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
    assert queue.depth() == 0, "writer loop did not drain the queue"


def good_point(i: int, name: str = "claude_code.token.usage") -> MetricPoint:
    return MetricPoint(timestamp=T0 + timedelta(seconds=i), name=name, value=float(i),
                       attributes={"type": "input", "i": i}, temporality="delta", unit="tokens")


def loop_for(queue, pool, metrics) -> WriterLoop:
    return WriterLoop(queue, storage_functions(pool), metrics, linger_s=0.01)


async def test_poison_record_is_dead_lettered_and_the_rest_of_its_batch_lands(pool, tmp_path):
    project = await make_project(pool)
    # status 'bogus' violates the table's CHECK constraint: the database refuses that row for good
    poison = replace(good_trace(99), status="bogus")
    traces = [good_trace(i) for i in range(7)]
    spans = [good_span(i) for i in range(5)]
    metrics = IngestMetrics()
    async with FileQueue(tmp_path / "q", max_bytes=1 << 24) as queue:
        await queue.append(codec.encode(project.id, traces[:3] + [poison] + traces[3:5]))
        await queue.append(b"this is not a queue entry")
        await queue.append(codec.encode(project.id, traces[5:] + spans))
        async with loop_for(queue, pool, metrics):
            await drain(queue)
    stored = await rows(pool, "SELECT trace_id FROM pulse.traces WHERE project_id = %s",
                        project.id)
    assert sorted(r[0] for r in stored) == sorted(t.trace_id for t in traces)
    assert (await rows(pool, "SELECT count(*) FROM pulse.spans WHERE project_id = %s",
                       project.id))[0][0] == 5
    dead = await rows(pool, "SELECT kind, reason, payload FROM pulse.dead_letters"
                            " WHERE project_id = %s", project.id)
    assert len(dead) == 1
    assert dead[0][0] == "trace" and "check" in dead[0][1].lower()
    assert str(poison.trace_id) in dead[0][2]
    entries = await rows(pool, "SELECT payload FROM pulse.dead_letters WHERE kind = 'entry'"
                               " AND payload = 'this is not a queue entry'")
    assert len(entries) >= 1
    assert metrics.dead_lettered.labels("trace")._value.get() == 1
    assert metrics.dead_lettered.labels("entry")._value.get() == 1


async def test_corrupted_queue_tail_is_cut_and_the_rest_replays(pool, tmp_path):
    project = await make_project(pool)
    batches = [[good_trace(10 * b + i) for i in range(4)] for b in range(5)]
    async with FileQueue(tmp_path / "q", max_bytes=1 << 24) as queue:
        for batch in batches:
            await queue.append(codec.encode(project.id, batch))
    # a crash mid-write: the last record is torn in half
    segment = max((tmp_path / "q").glob("*.seg"))
    segment.write_bytes(segment.read_bytes()[:-40])
    async with FileQueue(tmp_path / "q", max_bytes=1 << 24) as queue:
        assert queue.recovered.truncated_records == 1
        assert queue.depth() == 4
        async with loop_for(queue, pool, IngestMetrics()):
            await drain(queue)
    stored = {r[0] for r in await rows(
        pool, "SELECT trace_id FROM pulse.traces WHERE project_id = %s", project.id)}
    assert stored == {t.trace_id for batch in batches[:4] for t in batch}


async def test_replay_after_restart_never_duplicates(pool, tmp_path):
    """Entries written but not acked (crash between commit and ack) are replayed harmlessly."""
    project = await make_project(pool)
    batch = [good_trace(i) for i in range(10)]
    async with FileQueue(tmp_path / "q", max_bytes=1 << 24) as queue:
        await queue.append(codec.encode(project.id, batch))
    await writer.write_records(pool, [(project.id, t) for t in batch])  # committed, never acked
    async with FileQueue(tmp_path / "q", max_bytes=1 << 24) as queue:
        assert queue.depth() == 1
        async with loop_for(queue, pool, IngestMetrics()):
            await drain(queue)
    count = await rows(pool, "SELECT count(*) FROM pulse.traces WHERE project_id = %s",
                       project.id)
    assert count[0][0] == 10


async def test_poison_metric_point_is_dead_lettered_and_the_rest_lands(pool, tmp_path):
    project = await make_project(pool)
    points = [good_point(i) for i in range(6)]
    poison = replace(good_point(99), name=None)  # NOT NULL: the database refuses it for good
    metrics = IngestMetrics()
    async with FileQueue(tmp_path / "q", max_bytes=1 << 24) as queue:
        await queue.append(codec.encode(project.id, [good_trace(0)], points[:2] + [poison]))
        await queue.append(codec.encode(project.id, [], points[2:]))
        await queue.append(codec.encode(project.id, [], points[:3]))  # a re-sent export
        async with loop_for(queue, pool, metrics):
            await drain(queue)
    stored = await list_metric_points(pool, project.id)
    assert sorted(p["value"] for p in stored) == [float(i) for i in range(6)]  # each once
    assert len(await rows(pool, "SELECT 1 FROM pulse.traces WHERE project_id = %s",
                          project.id)) == 1
    dead = await rows(pool, "SELECT kind, reason, payload FROM pulse.dead_letters"
                            " WHERE project_id = %s", project.id)
    assert len(dead) == 1
    assert dead[0][0] == "metric_point" and "null" in dead[0][1].lower()
    assert '"value":99.0' in dead[0][2]
    assert metrics.dead_lettered.labels("metric_point")._value.get() == 1
