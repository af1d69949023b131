"""Drains the ingest queue into storage (DESIGN.md "The ingest path").

One task reads batches from the queue (by size, or whatever arrived within ``linger_s``), writes
them through the ``write`` callable passed in (storage's COPY + ``ON CONFLICT DO NOTHING``) and acks
the queue only after the commit. Errors by meaning:

* ``Retryable`` (database down, connection lost): keep the batch, back off with full jitter, retry;
  ingest keeps accepting into the bounded queue meanwhile (SPEC.md §7).
* ``Unstorable`` (the database refuses the data): bisect the batch until the bad record is alone,
  dead-letter it with the reason, write the rest.
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
from typing import Any
from uuid import UUID

from pulse.collector import codec
from pulse.collector.ingest import WriteFn
from pulse.collector.metrics import IngestMetrics
from pulse.collector.queue import IngestQueue, QueueEntry
from pulse.errors import Retryable, Unstorable
from pulse.records import Record, TraceRecord

log = logging.getLogger("pulse.writer")

# (project_id or None, kind, payload JSON, reason)
DeadLetterFn = Callable[[Sequence[tuple[UUID | None, str, str, str]]], Awaitable[Any]]


class WriterLoop:
    def __init__(
        self,
        queue: IngestQueue,
        write: WriteFn,
        dead_letter: DeadLetterFn,
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
        self._write = write
        self._dead_letter = dead_letter
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
        self.last_error: str | None = None  # for readiness: the database is unreachable

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
        items, accepted_at, broken = self._decode(entries)
        delay = self.backoff_initial_s
        while True:
            try:
                if broken:
                    await self._dead_letter(broken)
                    self.metrics.dead_lettered.labels("entry").inc(len(broken))
                    broken = []
                started = time.monotonic()
                await self._write_isolating(items)
                break
            except Retryable as exc:
                self.last_error = str(exc)
                self.metrics.write_retries.inc()
                log.warning("writer loop: %s; retrying in about %.1fs", exc, delay)
                await self._sleep(random.uniform(0, delay))  # full jitter
                delay = min(delay * 2, self.backoff_max_s)
        self.last_error = None
        now = time.time()
        self.metrics.write_seconds.observe(time.monotonic() - started)
        self.metrics.batch_records.observe(len(items))
        self.metrics.written.inc(len(items))
        for at in accepted_at:
            self.metrics.commit_lag.observe(max(0.0, now - at))
        await self.queue.ack(entries[-1].seq)

    def _decode(self, entries: list[QueueEntry]):
        items: list[tuple[UUID, Record]] = []
        accepted_at: list[float] = []
        broken: list[tuple[UUID | None, str, str, str]] = []
        for entry in entries:
            try:
                decoded = codec.decode(entry.payload)
            except ValueError as exc:
                raw = entry.payload.decode("utf-8", "replace")
                broken.append((None, "entry", raw, str(exc)))
                continue
            items += [(decoded.project_id, r) for r in decoded.records]
            accepted_at.append(decoded.accepted_at)
        return items, accepted_at, broken

    async def _write_isolating(self, items: list[tuple[UUID, Record]]) -> None:
        """Write ``items``; on ``Unstorable`` bisect until each bad record is dead-lettered."""
        if not items:
            return
        try:
            await self._write(items)
        except Unstorable as exc:
            if len(items) == 1:
                project_id, record = items[0]
                kind = "trace" if isinstance(record, TraceRecord) else "span"
                log.error("writer loop: dead-lettering a %s: %s", kind, exc.message)
                payload = codec.record_json(record)
                await self._dead_letter([(project_id, kind, payload, exc.message)])
                self.metrics.dead_lettered.labels(kind).inc()
                return
            middle = len(items) // 2
            await self._write_isolating(items[:middle])
            await self._write_isolating(items[middle:])

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._abort.wait(), seconds)
        if self._abort.is_set():
            raise asyncio.CancelledError
