"""Record assembly in storage (issue 12 acceptance 1, storage half): any split of the pieces of a
set of traces into batches, in any order, with duplicates and concurrent writers, gives exactly
the rows and the rollups that one batch with everything gives; and those rollups are exactly the
rollups of the merged rows written as ordinary records. Both backends."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from pulse.mapping import merge_trace_rows
from pulse.records import OtelIdentity, TraceRecord
from pulse.storage import writer
from tests.conftest import make_project

T0 = datetime(2026, 5, 3, 10, 50, tzinfo=UTC)
EMPTY_REQUEST = {"messages": []}
STEP = 2  # batches written at once (concurrent writers)
ROLLUPS = ("llm_usage_hourly", "llm_usage_daily", "llm_session_hourly", "llm_session_daily",
           "llm_session_model_daily", "trace_counts_hourly", "session_summaries")


def _pieces(rnd: random.Random, n: int) -> list[TraceRecord]:
    """Pieces of ``n`` traces: a span-like piece (timing, no content), a log-like piece (content,
    its own time and no latency, rank 0 for those), sometimes a twin with a client cost, a
    session only on some pieces, an error on some."""
    out = []
    for _ in range(n):
        tid = uuid.UUID(int=rnd.getrandbits(128))
        # distinct instants: a session's first prompt is that of its earliest trace, and the
        # summaries do not define which of two traces at the same instant is first
        ts = T0 + timedelta(minutes=rnd.randrange(0, 30), microseconds=rnd.getrandbits(32))
        tokens = (rnd.randint(1, 900), rnd.randint(1, 300))
        session = rnd.choice([None, "s1", "s2", "s3"])
        span = TraceRecord(
            tid, ts, "openai", "gpt-4o", EMPTY_REQUEST, "success",
            latency_ms=rnd.choice([3.0, 250.0, 4000.0]), input_tokens=tokens[0],
            output_tokens=tokens[1], cost_cents=Decimal(tokens[0]) / 100,
            session_id=session if rnd.random() < 0.5 else None,
            metadata={"cost_source": "computed"}, otel=OtelIdentity("ab" * 16, "cd" * 8))
        log = TraceRecord(
            tid, ts + timedelta(minutes=rnd.choice([0, 1, 45])), "unknown", "unknown",
            {"messages": [{"role": "user", "content": f"q{rnd.randrange(5)}"}]},
            rnd.choice(["success", "success", "error"]), latency_ms=0.0,
            output_text=f"a{rnd.randrange(5)}", finish_reason="stop", session_id=session,
            metadata={"event": "details"}, assembly={"timestamp": 0, "latency_ms": 0},
            otel=OtelIdentity("ab" * 16, "cd" * 8))
        if log.status == "error":
            log = replace(log, error={"message": "boom"})
        pieces = [span, log]
        if rnd.random() < 0.4:
            pieces.append(replace(span, cost_cents=Decimal("7.5"), metadata={
                "cost_source": "client"}, model_used="gpt-4o-2024-08-06"))
        out += pieces
    return out


async def _rows(pool, project_id) -> list[tuple]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT trace_id, \"timestamp\", session_id, latency_ms, provider, model_requested,"
            " model_used, request_body, response_body, input_tokens, output_tokens, output_text,"
            " finish_reason, status, error, cost_cents, metadata, otel_span_id, assembly"
            " FROM pulse.traces WHERE project_id = %s ORDER BY trace_id", (project_id,))
        return await cur.fetchall()


async def _rollups(pool, project_id) -> dict[str, list[tuple]]:
    out = {}
    async with pool.connection() as conn:
        for table in ROLLUPS:
            cur = await conn.execute(f"SELECT * FROM pulse.{table} WHERE project_id = %s",
                                     (project_id,))
            names = [d.name for d in cur.description]
            rows = []
            for r in await cur.fetchall():
                values = dict(zip(names, r, strict=True))
                values.pop("project_id")
                rows.append(tuple(sorted(
                    (k, round(v, 6) if isinstance(v, float) else v) for k, v in values.items())))
            out[table] = sorted(rows, key=repr)
    return out


def _same(got: dict, want: dict) -> None:
    for table in ROLLUPS:
        missing = [r for r in want[table] if r not in got[table]]
        extra = [r for r in got[table] if r not in want[table]]
        assert not missing and not extra, f"{table}:\nmissing {missing}\nextra {extra}"


def _as_record(row: tuple) -> TraceRecord:
    (tid, ts, session, latency, provider, model, model_used, request, response, tin, tout,
     text, finish, status, error, cost, metadata, span_id, _assembly) = row
    return TraceRecord(tid, ts, provider, model, request, status, latency, model_used=model_used,
                       response_body=response, input_tokens=tin, output_tokens=tout,
                       output_text=text, finish_reason=finish, error=error, cost_cents=cost,
                       session_id=session, metadata=metadata,
                       otel=OtelIdentity("ab" * 16, span_id))


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
async def test_any_split_order_and_duplication_gives_the_same_rows_and_rollups(pool, seed):
    rnd = random.Random(seed)
    pieces = _pieces(rnd, 40)
    one = await make_project(pool, "one-export")
    await writer.write_records(pool, [(one.id, p) for p in pieces], merge=merge_trace_rows)

    split = await make_project(pool, "split")
    shuffled = pieces + rnd.sample(pieces, 25)  # redeliveries
    rnd.shuffle(shuffled)
    batches, i = [], 0
    while i < len(shuffled):
        size = rnd.randint(1, 12)
        batches.append(shuffled[i:i + size])
        i += size
    # two writers at once, as two receivers or instances would
    for k in range(0, len(batches), STEP):
        await asyncio.gather(*(writer.write_records(pool, [(split.id, p) for p in b],
                                                    merge=merge_trace_rows)
                               for b in batches[k:k + STEP]))

    rows = await _rows(pool, one.id)
    assert len(rows) == 40
    assert await _rows(pool, split.id) == rows
    _same(await _rollups(pool, split.id), await _rollups(pool, one.id))

    # the rollups are those of the merged rows written as ordinary records
    plain = await make_project(pool, "plain")
    await writer.write_records(pool, [(plain.id, _as_record(r)) for r in rows])
    expected = await _rollups(pool, plain.id)
    _same(await _rollups(pool, one.id), expected)


async def test_merged_row_takes_the_best_of_each_piece(pool):
    p = await make_project(pool)
    [span, log, *_] = _pieces(random.Random(9), 1)
    await writer.write_records(pool, [(p.id, log)], merge=merge_trace_rows)
    result = await writer.write_records(pool, [(p.id, span)], merge=merge_trace_rows)
    assert result.traces_merged == 1
    [row] = await _rows(pool, p.id)
    record = _as_record(row)
    assert (record.timestamp, record.latency_ms) == (span.timestamp, span.latency_ms)
    assert (record.provider, record.model_requested) == ("openai", "gpt-4o")
    assert record.output_text == log.output_text and record.request_body == log.request_body
    assert (record.input_tokens, record.cost_cents) == (span.input_tokens, span.cost_cents)
    again = await writer.write_records(pool, [(p.id, span), (p.id, log)], merge=merge_trace_rows)
    assert (again.traces_inserted, again.traces_merged) == (0, 0)


async def test_a_failing_merge_keeps_the_stored_row_and_the_writer_going(pool):
    def broken(a, b):
        raise RuntimeError("merge bug")

    p = await make_project(pool)
    [span, log, *_] = _pieces(random.Random(11), 1)
    await writer.write_records(pool, [(p.id, span)], merge=broken)
    result = await writer.write_records(pool, [(p.id, log)], merge=broken)
    assert (result.traces_inserted, result.traces_merged) == (0, 0)
    [row] = await _rows(pool, p.id)
    assert _as_record(row).latency_ms == span.latency_ms
