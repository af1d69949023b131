"""The ingest queue's contract, for every implementation (docs/architecture.md §Ingest path):
real files in tmp_path, a real NATS JetStream server (one per module), no mocks. Durability and
recovery of the file queue are in test_file_queue.py, the NATS backend's own behaviour
(de-duplication, full stream, unreachable server, poison) in test_nats_queue.py."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulse.errors import Overloaded, PayloadTooLarge
from pulse.queue import HEADER, FileQueue, IngestQueue, MemoryQueue, QueueClosed
from tests.support.nats_server import NatsServer
from tests.support.queues import drain, make, payload

KINDS = ["file", "memory"]
ALL_KINDS = [*KINDS, "nats"]  # NATS counts bytes as its store does (not HEADER-framed)


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory):
    server = NatsServer(tmp_path_factory.mktemp("nats"))
    yield server
    server.stop()


@pytest.fixture
def open_queue(tmp_path: Path, request: pytest.FixtureRequest):
    async def open_(kind: str, **kwargs: int):
        if kind == "nats":
            return await make(kind, tmp_path, nats_url=request.getfixturevalue("nats_server").url,
                              **kwargs)
        return await make(kind, tmp_path, **kwargs)
    return open_


async def assert_bytes(q, kind: str, sizes: list[int], per_entry: float | None = None) -> float:
    """The bound counts un-acked bytes: HEADER-framed for file/memory; for NATS the stream's own
    byte count (a constant per entry of one size, checked relative to ``per_entry``)."""
    if kind != "nats":
        assert q.bytes_used() == sum(HEADER.size + s for s in sizes)
        return 0.0
    await q.refresh()
    assert q.depth() == len(sizes)
    if per_entry is not None:
        assert q.bytes_used() == round(per_entry * len(sizes))
    return q.bytes_used() / max(1, len(sizes))


# -- behaviour shared by both implementations ----------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ALL_KINDS)
async def test_append_read_ack_in_order(kind: str, open_queue) -> None:
    q = await open_queue(kind)
    assert isinstance(q, IngestQueue)
    seqs = [await q.append(payload(i)) for i in range(10)]
    assert seqs == list(range(1, 11))
    per = await assert_bytes(q, kind, [100] * 10)
    assert q.depth() == 10
    first = await q.read(4, 1 << 20, timeout=0)
    assert [(e.seq, e.payload) for e in first] == [(s, payload(s - 1)) for s in range(1, 5)]
    second = await q.read(4, 1 << 20, timeout=0)
    assert [e.seq for e in second] == [5, 6, 7, 8]
    assert [e.seq for e in await q.read(100, 1 << 20, timeout=0)] == [9, 10]
    assert await q.read(100, 1 << 20, timeout=0.05) == []
    await assert_bytes(q, kind, [100] * 10, per)  # read does not remove
    await q.ack(4)
    await assert_bytes(q, kind, [100] * 6, per)
    await q.ack(2)  # an older ack is a no-op
    await assert_bytes(q, kind, [100] * 6, per)
    assert await q.read(100, 1 << 20, timeout=0) == []  # read entries are not delivered twice
    await q.ack(10)
    await assert_bytes(q, kind, [], per)
    assert q.depth() == 0 and q.bytes_used() == 0
    with pytest.raises(ValueError, match="beyond the last appended"):
        await q.ack(11)
    assert await q.append(b"next") == 11
    await q.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ALL_KINDS)
async def test_read_respects_max_bytes_but_returns_at_least_one(kind: str, open_queue) -> None:
    q = await open_queue(kind)
    await q.append_many([payload(0, 500), payload(1, 100), payload(2, 100), payload(3, 100)])
    assert [e.seq for e in await q.read(10, 50, timeout=0)] == [1]  # bigger than max_bytes
    assert [e.seq for e in await q.read(10, 200, timeout=0)] == [2, 3]
    assert [e.seq for e in await q.read(10, 200, timeout=0)] == [4]
    await q.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ALL_KINDS)
async def test_read_waits_for_an_append_and_times_out(kind: str, open_queue) -> None:
    q = await open_queue(kind)
    started = time.monotonic()
    assert await q.read(10, 1 << 20, timeout=0.1) == []
    assert 0.09 <= time.monotonic() - started < 1.0
    reader = asyncio.create_task(q.read(10, 1 << 20, timeout=5))
    await asyncio.sleep(0.05)
    assert not reader.done()
    started = time.monotonic()
    await q.append(b"hello")
    assert [tuple(e) for e in await reader] == [(1, b"hello")]
    assert time.monotonic() - started < 1.0
    waiting = asyncio.create_task(q.read(10, 1 << 20))  # no timeout: until data or close
    await asyncio.sleep(0.02)
    await q.close()
    assert await asyncio.wait_for(waiting, 2) == []


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", KINDS)
async def test_bound_raises_overloaded_and_recovers_after_ack(kind: str, tmp_path: Path) -> None:
    frame = HEADER.size + 100
    q = await make(kind, tmp_path, max_bytes=10 * frame)
    assert q.max_bytes == 10 * frame
    for i in range(10):
        await q.append(payload(i))
    with pytest.raises(Overloaded) as info:
        await q.append(payload(10))
    assert isinstance(info.value.retry_after, int) and info.value.retry_after >= 1
    with pytest.raises(Overloaded):
        await q.append_many([payload(10), payload(11)])
    assert q.depth() == 10  # nothing dropped, nothing half-added
    await q.read(3, 1 << 20, timeout=0)
    await q.ack(3)
    assert await q.append_many([payload(i) for i in range(10, 13)]) == [11, 12, 13]
    with pytest.raises(Overloaded) as info:
        await q.append(payload(13))
    assert 1 <= info.value.retry_after <= 30  # estimated from the ack rate
    await q.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", KINDS)
async def test_payload_larger_than_the_bound_is_too_large(kind: str, tmp_path: Path) -> None:
    q = await make(kind, tmp_path, max_bytes=1000)
    with pytest.raises(PayloadTooLarge):
        await q.append(b"x" * 1000)  # framed, it can never fit
    with pytest.raises(PayloadTooLarge):
        await q.append_many([b"x" * 600, b"y" * 600])
    assert await q.append(b"x" * (1000 - HEADER.size)) == 1
    await q.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ALL_KINDS)
async def test_accounting_and_close(kind: str, open_queue) -> None:
    q = await open_queue(kind)
    assert await q.append_many([b"a" * 10, b"b" * 20, b"c" * 30]) == [1, 2, 3]
    assert await q.append_many([]) == []
    await assert_bytes(q, kind, [10, 20, 30])
    if kind == "nats":
        assert await q.read(2, 1 << 20, timeout=0)  # NATS acks only what a writer holds
    await q.ack(2)
    await assert_bytes(q, kind, [30])
    if kind == "file":
        assert q.group_commit.fsyncs == 1  # append_many: one durable write
    await q.close()
    await q.close()  # idempotent
    with pytest.raises(QueueClosed):
        await q.append(b"late")
    assert await q.read(10, 100, timeout=1) == []


@pytest.mark.asyncio
async def test_async_context_manager(tmp_path: Path) -> None:
    async with FileQueue(tmp_path, max_bytes=1 << 20, segment_bytes=4096) as q:
        await q.append(b"one")
    async with FileQueue(tmp_path) as q:
        assert await drain(q) == [(1, b"one")]
    async with MemoryQueue(max_bytes=1 << 20) as mq:
        assert await mq.append(b"one") == 1


# -- model-based ---------------------------------------------------------------------------------

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.lists(st.integers(0, 120), min_size=1, max_size=4)),
        st.tuples(st.just("read"), st.integers(1, 6)),
        st.tuples(st.just("ack"), st.floats(0, 1)),
        st.tuples(st.just("reopen"), st.none()),
    ),
    max_size=40,
)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS)
def test_random_operations_match_a_model(kind: str, ops: list[tuple[str, object]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_run_model(kind, Path(tmp), ops))


async def _run_model(kind: str, path: Path, ops: list[tuple[str, object]]) -> None:
    max_bytes, kwargs = 600, {"max_bytes": 600, "segment_bytes": 300}
    q = await make(kind, path, **dict(kwargs))
    live: dict[int, bytes] = {}  # un-acked, by seq
    next_seq, acked, cursor = 1, 0, 1
    for op, arg in ops:
        if op == "append":
            payloads = [bytes([65 + next_seq % 26]) * n for n in arg]  # type: ignore[union-attr]
            framed = sum(HEADER.size + len(p) for p in payloads)
            used = sum(HEADER.size + len(p) for p in live.values())
            if framed > max_bytes:
                with pytest.raises(PayloadTooLarge):
                    await q.append_many(payloads)
            elif used + framed > max_bytes:
                with pytest.raises(Overloaded):
                    await q.append_many(payloads)
            else:
                seqs = await q.append_many(payloads)
                assert seqs == list(range(next_seq, next_seq + len(payloads)))
                live.update(zip(seqs, payloads, strict=True))
                next_seq += len(payloads)
        elif op == "read":
            got = await q.read(arg, 1 << 20, timeout=0)  # type: ignore[arg-type]
            want = [(s, p) for s, p in sorted(live.items()) if s >= cursor][: int(arg)]  # type: ignore[call-overload]
            assert [tuple(e) for e in got] == want
            if want:
                cursor = want[-1][0] + 1
        elif op == "ack" and next_seq - 1 > acked:
            target = acked + 1 + int(arg * (next_seq - 2 - acked))  # type: ignore[operator]
            await q.ack(target)
            live = {s: p for s, p in live.items() if s > target}
            acked, cursor = target, max(cursor, target + 1)
        elif op == "reopen" and kind == "file":
            await q.close()
            q = await make(kind, path, **dict(kwargs))
            cursor = acked + 1
        assert q.depth() == len(live)
        assert q.bytes_used() == sum(HEADER.size + len(p) for p in live.values())
    await q.close()
