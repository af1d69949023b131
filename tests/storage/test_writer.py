"""The writer: idempotent, per project, duplicates in a batch collapse
(docs/api.md §Idempotence, §Durability)."""

import uuid
from datetime import UTC, datetime, timedelta

from pulse.records import SpanRecord, TraceRecord
from pulse.storage import writer
from tests.conftest import make_project

T0 = datetime(2026, 1, 25, 12, 0, tzinfo=UTC)


def trace(trace_id=None, ts=T0, **kw) -> TraceRecord:
    base = dict(
        trace_id=trace_id or uuid.uuid4(),
        timestamp=ts,
        provider="openai",
        model_requested="gpt-4o",
        request_body={"messages": []},
        status="success",
        latency_ms=10.0,
        input_tokens=5,
        output_tokens=7,
    )
    base.update(kw)
    return TraceRecord(**base)


def span(span_id=None, ts=T0) -> SpanRecord:
    return SpanRecord(
        span_id=span_id or uuid.uuid4(),
        session_id="s",
        timestamp=ts,
        source="claude_code",
        kind="tool_use",
        event_type="post_tool_use",
    )


async def count(pool, table: str, project_id) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT count(*), coalesce(sum(1), 0) FROM pulse.{table} WHERE project_id = %s",
            (project_id,),
        )
        return (await cur.fetchone())[0]


async def test_redelivery_never_creates_a_second_row(pool):
    p = await make_project(pool)
    t, s = trace(), span()
    first = await writer.write_records(pool, [(p.id, t), (p.id, s)])
    again = await writer.write_records(pool, [(p.id, t), (p.id, s)])
    assert (first.traces_inserted, first.spans_inserted) == (1, 1)
    assert (again.traces_inserted, again.spans_inserted) == (0, 0)
    assert await count(pool, "traces", p.id) == 1
    assert await count(pool, "spans", p.id) == 1


async def test_duplicates_inside_one_batch_collapse(pool):
    p = await make_project(pool)
    t = trace()
    result = await writer.write_records(pool, [(p.id, t)] * 3)
    assert result.traces_inserted == 1
    assert await count(pool, "traces", p.id) == 1


async def test_same_id_at_another_timestamp_is_not_a_second_row(pool):
    p = await make_project(pool)
    tid = uuid.uuid4()
    await writer.write_records(pool, [(p.id, trace(tid, T0))])
    # a retried client that re-stamped its trace: still the same trace
    await writer.write_records(pool, [(p.id, trace(tid, T0 + timedelta(days=3)))])
    sid = uuid.uuid4()
    await writer.write_records(pool, [(p.id, span(sid, T0)), (p.id, span(sid, T0 + timedelta(1)))])
    assert await count(pool, "traces", p.id) == 1
    assert await count(pool, "spans", p.id) == 1


async def test_ids_are_per_project(pool):
    a, b = await make_project(pool), await make_project(pool)
    t = trace()
    await writer.write_records(pool, [(a.id, t), (b.id, t)])
    assert await count(pool, "traces", a.id) == 1
    assert await count(pool, "traces", b.id) == 1


async def test_tokens_are_not_double_counted_on_replay(pool):
    p = await make_project(pool)
    batch = [(p.id, trace(input_tokens=100, output_tokens=10)) for _ in range(20)]
    for _ in range(3):
        await writer.write_records(pool, batch)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT sum(input_tokens), sum(output_tokens) FROM pulse.traces WHERE project_id = %s",
            (p.id,),
        )
        assert await cur.fetchone() == (2000, 200)
