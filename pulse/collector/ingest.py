"""``Ingestor.ingest(project_id, records)``: THE one path every transport calls.

Durability contract (SPEC.md §7): the call returns only once the records are durable.

* ``wait="durable"`` (``/async`` and OTLP): appended to the local disk queue and fsync'd (group
  commit); the writer loop stores them shortly after. A full queue raises ``Overloaded`` (503 /
  ``UNAVAILABLE`` with Retry-After): never an unbounded buffer, never a silent drop.
* ``wait="commit"`` (native ``/batch`` routes): written to the database and committed.

Without a queue (``queue=None``, e.g. an API-only process) both modes commit to the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal
from uuid import UUID

from pulse.collector import codec
from pulse.collector.metrics import IngestMetrics
from pulse.collector.queue import IngestQueue
from pulse.errors import Overloaded, PayloadTooLarge
from pulse.records import Record, TraceRecord

WriteFn = Callable[[Sequence[tuple[UUID, Record]]], Awaitable[Any]]
Wait = Literal["commit", "durable"]


class Ingestor:
    """Hands mapped records to the queue or to storage; counts accepted and rejected items."""

    def __init__(
        self, write: WriteFn, queue: IngestQueue | None = None,
        metrics: IngestMetrics | None = None,
    ) -> None:
        self._write = write
        self.queue = queue
        self.metrics = metrics or IngestMetrics()

    async def ingest(
        self, project_id: UUID, records: Sequence[Record], *, wait: Wait = "durable"
    ) -> int:
        """Make ``records`` durable for ``project_id``; return how many were accepted."""
        if not records:
            return 0
        traces = sum(1 for r in records if isinstance(r, TraceRecord))
        if wait == "durable" and self.queue is not None:
            payload = codec.encode(project_id, records)
            return await self._accept(self.queue.append(payload), traces, len(records) - traces)
        write = self._write([(project_id, r) for r in records])
        return await self._accept(write, traces, len(records) - traces)

    async def ingest_payload(
        self, project_id: UUID, payload: bytes, traces: int, spans: int
    ) -> int:
        """Make an already encoded queue payload durable (``codec.encode`` of the records, as the
        mapping workers produce it); return how many records it holds."""
        if self.queue is not None:
            return await self._accept(self.queue.append(payload), traces, spans)
        entry = codec.decode(payload)
        write = self._write([(entry.project_id, r) for r in entry.records])
        return await self._accept(write, traces, spans)

    async def _accept(self, durable: Awaitable[Any], traces: int, spans: int) -> int:
        """Await the durable append or commit; count the items accepted, or refused and why."""
        try:
            await durable
        except Overloaded:
            self.reject("queue_full", traces + spans)
            raise
        except PayloadTooLarge:
            self.reject("too_large", traces + spans)
            raise
        if traces:
            self.metrics.accepted.labels("traces").inc(traces)
        if spans:
            self.metrics.accepted.labels("spans").inc(spans)
        return traces + spans

    def reject(self, reason: str, count: int = 1) -> None:
        """Count items refused before they became durable (validation, size, full queue...)."""
        self.metrics.rejected.labels(reason).inc(count)
