"""The NATS JetStream queue backend's own behaviour against a real ``nats-server -js`` (one per
module, a new stream per test): de-duplicated publishes, a full stream, an entry above the
server's max_payload, an unreachable server, work-queue delivery to several writers,
redelivery after a writer dies, keep-alive while a writer holds entries, and poison entries
(docs/architecture.md#deployment). The shared contract is in test_contract.py."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from pulse.errors import Overloaded, PayloadTooLarge, Retryable
from pulse.queue import NatsOptions, NatsQueue
from tests.support.nats_server import NatsServer
from tests.support.queues import payload

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = NatsServer(tmp_path_factory.mktemp("nats"), max_payload=64 * 1024)
    yield srv
    srv.stop()


def options(server: NatsServer, **kw) -> NatsOptions:
    kw.setdefault("stream", f"T{uuid.uuid4().hex[:12]}")
    return NatsOptions(url=server.url, **kw)


async def test_a_retried_publish_is_stored_once(server) -> None:
    async with NatsQueue(options(server)) as q:
        first = await q.append(payload(1))
        assert await q.append(payload(1)) == first  # same entry again: the stream's dedup
        assert await q.append(payload(2)) == first + 1
        await q.refresh()
        assert q.depth() == 2


async def test_a_full_stream_is_overloaded_and_nothing_is_dropped(server) -> None:
    async with NatsQueue(options(server, max_bytes=4096)) as q:
        accepted = []
        with pytest.raises(Overloaded) as info:
            for i in range(100):
                accepted.append(await q.append(payload(i, 200)))
        assert info.value.retry_after >= 1 and "full" in info.value.message
        assert 5 <= len(accepted) < 100
        entries = await q.read(1000, 1 << 30, timeout=1)
        assert [e.seq for e in entries] == accepted  # everything acknowledged is there
        await q.ack(entries[-1].seq)
        assert await q.append(payload(999, 200)) == accepted[-1] + 1  # room again


async def test_an_entry_above_max_payload_is_refused_clearly(server) -> None:
    async with NatsQueue(options(server)) as q:
        with pytest.raises(PayloadTooLarge, match="max_payload 65536"):
            await q.append(b"x" * 70_000)
        assert await q.append(b"x" * 60_000) == 1


async def test_unreachable_nats_is_retryable_at_once(tmp_path) -> None:
    srv = NatsServer(tmp_path)
    try:
        async with NatsQueue(options(srv)) as q:
            await q.append(b"before")
            srv.stop()
            for _ in range(100):  # the client notices the closed socket
                if not q.connected:
                    break
                await asyncio.sleep(0.05)
            with pytest.raises(Retryable, match="unreachable") as info:
                await q.append(b"during")
            assert info.value.retry_after >= 1
            srv.start()
            for _ in range(200):
                if q.connected:
                    break
                await asyncio.sleep(0.05)
            await q.append(b"after")
            got = await q.read(10, 1 << 20, timeout=2)
            assert [e.payload for e in got] == [b"before", b"after"]
    finally:
        srv.stop()


async def test_writers_share_the_stream_each_entry_once(server) -> None:
    opts = options(server)
    async with NatsQueue(opts, consume=False) as ingest, NatsQueue(opts) as a, \
            NatsQueue(opts) as b:
        seqs = [await ingest.append(payload(i)) for i in range(40)]
        seen: list[int] = []
        for _ in range(20):
            for writer in (a, b):
                entries = await writer.read(7, 1 << 20, timeout=0.2)
                if entries:
                    seen += [e.seq for e in entries]
                    await writer.ack(entries[-1].seq)
            if len(seen) >= 40:
                break
        assert sorted(seen) == seqs  # each entry to exactly one writer
        await ingest.refresh()
        assert ingest.depth() == 0 and ingest.state.consumer_pending == 0


async def test_entries_of_a_dead_writer_are_redelivered(server) -> None:
    opts = options(server, ack_wait_s=1)
    async with NatsQueue(opts, consume=False) as ingest:
        for i in range(5):
            await ingest.append(payload(i))
        dead = NatsQueue(opts)
        await dead.start()
        assert len(await dead.read(10, 1 << 20, timeout=1)) == 5
        for task in dead._tasks:  # it dies: no keep-alive, no ack, no nak
            task.cancel()
        await dead._nc.close()
        async with NatsQueue(opts) as alive:
            got = []
            for _ in range(30):
                got += await alive.read(10, 1 << 20, timeout=0.5)
                if len(got) >= 5:
                    break
            assert [e.payload for e in got] == [payload(i) for i in range(5)]
            await alive.ack(got[-1].seq)


async def test_held_entries_are_kept_alive_not_redelivered(server) -> None:
    opts = options(server, ack_wait_s=2)
    async with NatsQueue(opts) as slow, NatsQueue(opts) as other:
        await slow.append(payload(1))
        held = await slow.read(10, 1 << 20, timeout=1)
        assert len(held) == 1
        assert await other.read(10, 1 << 20, timeout=6) == []  # 3 x ack_wait: still held
        await slow.ack(held[0].seq)
        await other.refresh()
        assert other.depth() == 0


async def test_poison_is_dead_lettered_with_its_reason_and_terminated(server) -> None:
    opts = options(server, ack_wait_s=1, max_deliveries=2)
    dead_letters: list[tuple[bytes, str]] = []

    async def on_poison(data: bytes, reason: str) -> None:
        dead_letters.append((data, reason))

    async with NatsQueue(opts, consume=False) as ingest:
        await ingest.append(b"poison")
        for _ in range(2):  # two writers die holding it
            crashing = NatsQueue(opts)
            await crashing.start()
            assert [e.payload for e in await crashing.read(1, 1 << 20, timeout=5)] == [b"poison"]
            for task in crashing._tasks:
                task.cancel()
            await crashing._nc.close()
        async with NatsQueue(opts, on_poison=on_poison) as writer:
            for _ in range(20):
                assert await writer.read(1, 1 << 20, timeout=0.5) == []
                if dead_letters:
                    break
            assert dead_letters == [(b"poison", dead_letters[0][1])]
            assert "delivered 3 times" in dead_letters[0][1]
            assert writer.poisoned == 1
            await asyncio.sleep(0.2)
            await writer.refresh()
            assert writer.depth() == 0  # terminated: gone from the stream
