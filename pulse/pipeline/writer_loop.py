"""Drains the ingest queue into storage (docs/architecture.md §Ingest path).

One task reads batches from the queue (by size, or whatever arrived within ``linger_s``), writes
their records and metric points through the storage functions passed in (idempotent writes:
COPY / INSERT ... ON CONFLICT DO NOTHING) and acks the queue only after the commit. Errors by
meaning:

* ``Retryable`` (database down, connection lost): keep the batch, back off with full jitter, retry;
  ingest keeps accepting into the bounded queue meanwhile.
* ``Unstorable`` (the database refuses the data): bisect the batch until the bad record or point
  is alone, dead-letter it with the reason, write the rest.
* an undecodable queue entry: dead-lettered as ``entry`` with its raw bytes.

Writes are idempotent, so a crash between commit and ack only causes a harmless replay.
Shutdown (``stop``): keep draining until the queue is empty or the deadline passes; whatever is
left stays in the queue for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from pulse.errors import Retryable, Unstorable
from pulse.pipeline import codec
from pulse.pipeline.store import DeadLetter, Store
from pulse.pipeline.telemetry import IngestMetrics
from pulse.queue import IngestQueue, QueueEntry
from pulse.records import MetricPoint, Record, TraceRecord

log = logging.getLogger("pulse.writer")


@dataclass
class _Batch:
    """The decoded content of the queue entries read at once."""

    records: list[tuple[UUID, Record]] = field(default_factory=list)
    points: list[tuple[UUID, MetricPoint]] = field(default_factory=list)
    accepted_at: list[float] = field(default_factory=list)
    broken: list[DeadLetter] = field(default_factory=list)  # undecodable entries


def _decode(entries: list[QueueEntry]) -> _Batch:
    batch = _Batch()
    for entry in entries:
        try:
            decoded = codec.decode(entry.payload)
        except ValueError as exc:
            raw = entry.payload.decode("utf-8", "replace")
            batch.broken.append((None, "entry", raw, str(exc)))
            continue
        batch.records += [(decoded.project_id, r) for r in decoded.records]
        batch.points += [(decoded.project_id, p) for p in decoded.points]
        batch.accepted_at.append(decoded.accepted_at)
    return batch


def _kind(item: Record | MetricPoint) -> str:
    if isinstance(item, MetricPoint):
        return "metric_point"
    return "trace" if isinstance(item, TraceRecord) else "span"


class WriterLoop:
    def __init__(
        self,
        queue: IngestQueue,
        store: Store,
        metrics: IngestMetrics,
        *,
        batch_entries: int = 500,
        batch_bytes: int = 16 * 1024 * 1024,
        linger_s: float = 0.05,
        backoff_initial_s: float = 0.1,
        backoff_max_s: float = 10.0,
        shutdown_timeout_s: float = 10.0,
    ) -> None:
        self.queue = queue
        self.store = store
        self.metrics = metrics
        self.batch_entries = batch_entries
        self.batch_bytes = batch_bytes
        self.linger_s = linger_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.shutdown_timeout_s = shutdown_timeout_s
        self._task: asyncio.Task | None = None
        self._draining = False
        self._abort = asyncio.Event()

    async def __aenter__(self) -> WriterLoop:
        self._task = asyncio.create_task(self._run(), name="pulse-writer-loop")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop(deadline_s=self.shutdown_timeout_s)

    async def stop(self, deadline_s: float) -> None:
        """Drain what is queued within ``deadline_s``, then stop; the rest stays queued."""
        if self._task is None:
            return
        self._draining = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), deadline_s)
        except TimeoutError:
            log.warning("writer loop: shutdown deadline reached, %d entries stay queued",
                        self.queue.depth())
            self._abort.set()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            entries = await self.queue.read(self.batch_entries, self.batch_bytes, self.linger_s)
            if not entries:
                if self._draining and self.queue.depth() == 0:
                    return
                continue
            await self._commit(entries)

    async def _commit(self, entries: list[QueueEntry]) -> None:
        batch = _decode(entries)
        delay = self.backoff_initial_s
        while True:
            try:
                started = time.monotonic()
                await self._write(batch)
                break
            except Retryable as exc:
                self.metrics.write_retries.inc()
                log.warning("writer loop: %s; retrying in about %.1fs", exc, delay)
                await self._sleep(random.uniform(0, delay))  # full jitter
                delay = min(delay * 2, self.backoff_max_s)
        now = time.time()
        written = len(batch.records) + len(batch.points)
        self.metrics.write_seconds.observe(time.monotonic() - started)
        self.metrics.batch_records.observe(written)
        self.metrics.written.inc(written)
        for at in batch.accepted_at:
            self.metrics.commit_lag.observe(max(0.0, now - at))
        await self.queue.ack(entries[-1].seq)

    async def _write(self, batch: _Batch) -> None:
        """Write one batch; a retry after ``Retryable`` rewrites what had landed (idempotent)."""
        if batch.broken:
            await self.store.write_dead_letters(batch.broken)
            self.metrics.dead_lettered.labels("entry").inc(len(batch.broken))
            batch.broken = []
        await self._write_isolating(batch.records, self.store.write_records)
        await self._write_isolating(batch.points, self.store.write_points)

    async def _write_isolating(
        self,
        items: Sequence[tuple[UUID, Any]],
        write: Callable[[Sequence[tuple[UUID, Any]]], Awaitable[Any]],
    ) -> None:
        """Write ``items``; on ``Unstorable`` bisect until each bad one is dead-lettered."""
        if not items:
            return
        try:
            await write(items)
        except Unstorable as exc:
            if len(items) == 1:
                await self._dead_letter(*items[0], reason=exc.message)
                return
            middle = len(items) // 2
            await self._write_isolating(items[:middle], write)
            await self._write_isolating(items[middle:], write)

    async def _dead_letter(self, project_id: UUID, item: Any, *, reason: str) -> None:
        kind = _kind(item)
        log.error("writer loop: dead-lettering a %s: %s", kind, reason)
        payload = codec.record_json(item)
        await self.store.write_dead_letters([(project_id, kind, payload, reason)])
        self.metrics.dead_lettered.labels(kind).inc()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._abort.wait(), seconds)
        if self._abort.is_set():
            raise asyncio.CancelledError
