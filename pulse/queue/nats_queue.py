"""``NatsQueue``: the ``IngestQueue`` on a shared NATS JetStream stream (``PULSE_QUEUE_BACKEND=
nats``), so ingest nodes keep no local state and writers on any node drain one stream
(docs/architecture.md#deployment).

* ``append`` returns once JetStream acknowledged the publish (stored on the stream's replicas);
  the ingest path answers the client only then. The message id is a digest of the entry, so a
  publish retried after a lost acknowledgement is stored once (the stream's duplicate window).
  NATS unreachable raises ``Retryable`` at once (the client does not buffer without bound), a
  full stream ``Overloaded``, an entry above the server's ``max_payload`` ``PayloadTooLarge``.
* ``read`` fetches from the durable pull consumer every writer shares (work-queue semantics:
  each entry goes to one writer). Entries carry their stream sequence as ``seq``; within a
  read they are in order. While a writer holds entries (e.g. retrying a database outage) it
  tells JetStream it is still working on them, so they are not redelivered to another writer.
* ``ack(upto_seq)`` acks every held entry up to ``upto_seq`` after the database commit; the
  stream then deletes them. A writer that dies holding entries has them redelivered after
  ``ack_wait_s`` to any writer (the database writes are idempotent).
* An entry delivered ``max_deliveries`` times without being stored (it crashed or stalled its
  writers each time) is poison: it is dead-lettered with the reason through ``on_poison`` and
  terminated in the stream (AckTerm).
* ``depth()``/``bytes_used()`` and ``state`` are the stream's and the consumer's last sample
  (refreshed every ``state_interval_s`` and after each ack), for readiness and ``/metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg

from pulse.errors import PayloadTooLarge, Retryable
from pulse.queue.interface import QueueClosed
from pulse.queue.nats_stream import (
    CONSUMER,
    RETRY_AFTER_S,
    NatsOptions,
    StreamState,
    connect,
    consumer_config,
    ensure_stream,
    publish_error,
    sample,
)
from pulse.queue.segment import QueueEntry

log = logging.getLogger("pulse.queue.nats")

_HEADER_ALLOWANCE = 256  # subject, Nats-Msg-Id header and protocol framing of one publish
_CLIENT_ERRORS = (nats.errors.Error, TimeoutError, OSError)

OnPoison = Callable[[bytes, str], Awaitable[None]]


def message_id(payload: bytes) -> str:
    """The entry's stable id: the same bytes published twice are stored once."""
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


class NatsQueue:
    """``async with NatsQueue(options, consume=..., on_poison=...) as q``; ``consume=False`` for
    ingest-only nodes (they publish and never join the consumer)."""

    def __init__(
        self, options: NatsOptions, *, consume: bool = True, on_poison: OnPoison | None = None,
        name: str = "pulse-bridge",
    ) -> None:
        self.options = options
        self.consume = consume
        self.on_poison = on_poison
        self.name = name
        self.state = StreamState()
        self.poisoned = 0
        self._nc: Any = None
        self._js: Any = None
        self._sub: Any = None
        self._buffer: list[Msg] = []  # fetched, not yet returned by read (max_bytes)
        self._held: dict[int, Msg] = {}  # returned by read, not yet acked: stream seq -> msg
        self._max_seq = 0  # the highest seq appended or read here
        self._closed = False
        self._read_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def max_bytes(self) -> int:
        return self.options.max_bytes

    @property
    def max_payload(self) -> int:
        return self._nc.max_payload if self._nc is not None else 1024 * 1024

    async def __aenter__(self) -> NatsQueue:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        if self._nc is not None:
            return
        self._nc = await connect(self.options, self.name)
        self._js = self._nc.jetstream(timeout=self.options.publish_timeout_s)
        await ensure_stream(self._js, self.options)
        if self.consume:
            self._sub = await self._js.pull_subscribe(
                self.options.subject, durable=CONSUMER, stream=self.options.stream,
                config=consumer_config(self.options),
            )
        await self.refresh()
        self._tasks = [asyncio.create_task(self._sample_loop(), name="pulse-nats-state")]
        if self.consume:
            self._tasks.append(asyncio.create_task(self._keep_alive(), name="pulse-nats-wip"))

    # -- append ------------------------------------------------------------------------------

    async def append(self, payload: bytes) -> int:
        """Publish one entry; its stream sequence once JetStream has stored it."""
        if self._closed or self._nc is None:
            raise QueueClosed("the ingest queue is closed (shutting down)", retry_after=1)
        payload = bytes(payload)
        limit = self.max_payload - _HEADER_ALLOWANCE
        if len(payload) > limit:
            raise PayloadTooLarge(
                f"entry of {len(payload)} bytes exceeds what the NATS server accepts in one"
                f" message ({limit} bytes of max_payload {self.max_payload}): send smaller"
                " requests, or raise max_payload in the nats-server configuration"
            )
        headers = {"Nats-Msg-Id": message_id(payload)}
        last: Exception | None = None
        for _ in range(self.options.publish_attempts):
            if not self._nc.is_connected:  # never queue behind a reconnect: answer 503 now
                raise Retryable("Ingest stream unavailable (NATS unreachable), retry later",
                                retry_after=RETRY_AFTER_S)
            try:
                ack = await self._js.publish(
                    self.options.subject, payload, stream=self.options.stream,
                    headers=headers, timeout=self.options.publish_timeout_s,
                )
            except nats.js.errors.APIError as exc:
                raise publish_error(exc, self.options) from exc
            except _CLIENT_ERRORS as exc:  # no ack in time, no responder: same id again
                last = exc
                continue
            self._max_seq = max(self._max_seq, ack.seq)
            return ack.seq
        raise publish_error(last or Retryable("no attempt"), self.options) from last

    async def append_many(self, payloads: list[bytes]) -> list[int]:
        """One after the other (JetStream has no atomic multi-message publish here)."""
        return [await self.append(p) for p in payloads]

    # -- read and ack ------------------------------------------------------------------------

    async def read(
        self, max_items: int, max_bytes: int, timeout: float | None = None
    ) -> list[QueueEntry]:
        """The next entries (in stream order within the batch), at least one when any is
        available; ``[]`` after ``timeout`` seconds (None: until data or close)."""
        if max_items < 1 or not self.consume:
            return []
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        async with self._read_lock:
            while not self._closed:
                if self._buffer:
                    return self._take(max_items, max_bytes)
                remaining = 1.0 if deadline is None else deadline - loop.time()
                await self._fetch(max_items, min(1.0, max(remaining, 0.05)))
                if not self._buffer and deadline is not None and loop.time() >= deadline:
                    return []
        return []

    async def _fetch(self, max_items: int, wait: float) -> None:
        try:
            msgs = await self._sub.fetch(max_items, timeout=wait)
        except (TimeoutError, nats.errors.TimeoutError):
            return
        except _CLIENT_ERRORS as exc:  # disconnected: the writer loop just reads again
            if not self._closed:
                log.warning("NATS fetch failed (%s); retrying", exc.__class__.__name__)
                await asyncio.sleep(min(wait, 0.5))
            return
        for msg in msgs:
            meta = msg.metadata
            seq = meta.sequence.stream
            if seq in self._held or any(m.metadata.sequence.stream == seq for m in self._buffer):
                continue  # a redelivery of what we already hold
            if meta.num_delivered > self.options.max_deliveries:
                await self._poison(msg, meta.num_delivered)
                continue
            self._buffer.append(msg)
        self._buffer.sort(key=lambda m: m.metadata.sequence.stream)

    def _take(self, max_items: int, max_bytes: int) -> list[QueueEntry]:
        out: list[QueueEntry] = []
        total = 0
        while self._buffer and len(out) < max_items:
            msg = self._buffer[0]
            if out and total + len(msg.data) > max_bytes:
                break
            self._buffer.pop(0)
            seq = msg.metadata.sequence.stream
            self._held[seq] = msg
            self._max_seq = max(self._max_seq, seq)
            out.append(QueueEntry(seq, msg.data))
            total += len(msg.data)
        return out

    async def _poison(self, msg: Msg, deliveries: int) -> None:
        reason = (f"delivered {deliveries} times without being stored (its writers crashed or"
                  " stalled on it each time); terminated in the NATS stream")
        log.error("NATS entry %d is poison: %s", msg.metadata.sequence.stream, reason)
        try:
            if self.on_poison is not None:
                await self.on_poison(msg.data, reason)
            await msg.term()
            self.poisoned += 1
        except Exception as exc:  # noqa: BLE001 - not terminated: it comes back after ack_wait
            log.warning("could not dead-letter poison entry: %s", exc)

    async def ack(self, upto_seq: int) -> None:
        """Every held entry up to ``upto_seq`` is stored: ack it (the stream deletes it)."""
        if upto_seq > self._max_seq:
            raise ValueError(f"ack({upto_seq}) beyond the last appended seq {self._max_seq}")
        done = sorted(s for s in self._held if s <= upto_seq)
        if not done:
            return
        msgs = [self._held.pop(s) for s in done]
        try:
            for msg in msgs[:-1]:
                await msg.ack()
            await msgs[-1].ack_sync(timeout=self.options.publish_timeout_s)
        except _CLIENT_ERRORS as exc:  # stored but not acked: redelivered later, idempotent
            log.warning("NATS ack failed (%s); %d entries will be redelivered and rewritten",
                        exc.__class__.__name__, len(msgs))
            return
        await self.refresh()

    # -- state ---------------------------------------------------------------------------------

    def depth(self) -> int:
        return self.state.messages

    def bytes_used(self) -> int:
        return self.state.bytes

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def refresh(self) -> StreamState:
        """Sample the stream and consumer now; on failure keep the last sample, disconnected."""
        try:
            self.state = await sample(self._js, self._nc, self.options)
        except (*_CLIENT_ERRORS, nats.js.errors.Error) as exc:
            log.debug("NATS state sample failed: %s", exc)
            s = self.state
            self.state = StreamState(False, s.messages, s.bytes, s.consumer_pending,
                                     s.consumer_ack_pending, s.redelivered)
        return self.state

    async def _sample_loop(self) -> None:
        while True:
            await asyncio.sleep(self.options.state_interval_s)
            await self.refresh()

    async def _keep_alive(self) -> None:
        """Tell JetStream the held entries are still being written (a database outage may last
        longer than ack_wait), so they are not redelivered to another writer meanwhile."""
        while True:
            await asyncio.sleep(max(0.2, self.options.ack_wait_s / 3))
            msgs = [*self._held.values(), *self._buffer]
            with contextlib.suppress(*_CLIENT_ERRORS, nats.errors.MsgAlreadyAckdError):
                for msg in msgs:
                    await msg.in_progress()
                if msgs:
                    await self._nc.flush(timeout=2)

    async def close(self) -> None:
        """Give back what this writer holds (redelivered at once to another), disconnect."""
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        async with self._read_lock:  # a read in flight returns first (it sees _closed)
            unacked = [*self._held.values(), *self._buffer]
            self._held.clear()
            self._buffer.clear()
        if self._nc is None:
            return
        for msg in unacked:
            with contextlib.suppress(*_CLIENT_ERRORS, nats.errors.MsgAlreadyAckdError):
                await msg.nak()
        with contextlib.suppress(*_CLIENT_ERRORS):
            await self._nc.close()
