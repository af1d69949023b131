"""``Ingestor.ingest``: THE one entry of the ingest path; every receiver calls it.

It takes either an OTLP export exactly as received (:class:`OtlpExport`: signal, raw body bytes,
media type; decoded and mapped once, in a mapping worker) or native records a receiver has
already validated, and returns an :class:`Outcome` once they are durable.

Durability contract (docs/architecture.md §Ingest path):

* ``wait="durable"`` (``/async`` routes and OTLP): appended to the ingest queue and fsync'd
  (group commit); the writer loop stores them shortly after. A full queue raises ``Overloaded``
  (503 / ``UNAVAILABLE`` with Retry-After): never an unbounded buffer, never a silent drop.
* ``wait="commit"`` (native ``/batch`` routes): written to the database and committed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from pulse.errors import InvalidInput, Overloaded, PayloadTooLarge, Retryable
from pulse.pipeline import codec
from pulse.pipeline.mapper import Mapped, Mapper
from pulse.pipeline.store import Store
from pulse.pipeline.telemetry import IngestMetrics
from pulse.queue import IngestQueue
from pulse.records import Record, SpanRecord, TraceRecord

Wait = Literal["commit", "durable"]


@dataclass(frozen=True, slots=True)
class OtlpExport:
    """One OTLP export as a receiver got it: ``signal`` is traces | logs | metrics,
    ``content_type`` the media type (protobuf or JSON), ``body`` the decompressed bytes."""

    signal: str
    body: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one ingest call: items made durable, items refused (invalid or dropped),
    and the reasons, for OTLP ``partial_success``."""

    accepted: int
    rejected: int = 0
    messages: tuple[str, ...] = ()


class Ingestor:
    """Maps, encodes and makes data durable; counts what it accepted and refused, and why."""

    def __init__(
        self, queue: IngestQueue, mapper: Mapper, store: Store, metrics: IngestMetrics
    ) -> None:
        self.queue = queue
        self.mapper = mapper
        self.store = store
        self.metrics = metrics

    async def ingest(
        self,
        project_id: UUID,
        data: OtlpExport | Sequence[Record],
        *,
        wait: Wait = "durable",
    ) -> Outcome:
        """Make ``data`` durable for ``project_id`` (``wait`` says how durable)."""
        if isinstance(data, OtlpExport):
            mapped = await self._map(project_id, data)
            if mapped.payload is not None:
                await self._accept(self._store_payload(mapped.payload, wait), mapped)
        else:
            mapped = _counted(data)
            if data:
                await self._accept(self._store_records(project_id, data, wait), mapped)
        kept = mapped.traces + mapped.spans + mapped.points
        return Outcome(kept, mapped.rejected + mapped.dropped, tuple(mapped.messages))

    def reject(self, reason: str, count: int = 1) -> None:
        """Count items refused before they became durable (validation, size, full queue...)."""
        if count:
            self.metrics.rejected.labels(reason).inc(count)

    async def _map(self, project_id: UUID, export: OtlpExport) -> Mapped:
        try:
            mapped = await self.mapper.map(
                export.signal, export.body, export.content_type, project_id
            )
        except InvalidInput:
            self.reject("otlp_malformed")
            raise
        self.reject("otlp_invalid", mapped.rejected)
        self.reject("otlp_dropped", mapped.dropped)
        return mapped

    async def _accept(self, durable: Awaitable[Any], mapped: Mapped) -> None:
        """Await the durable append or the commit; count the items accepted, or refused."""
        kept = mapped.traces + mapped.spans + mapped.points
        try:
            await durable
        except Overloaded:
            self.reject("queue_full", kept)
            raise
        except PayloadTooLarge:
            self.reject("too_large", kept)
            raise
        except Retryable:  # not now: NATS or the database unreachable, shutting down
            self.reject("unavailable", kept)
            raise
        for signal, count in (("traces", mapped.traces), ("spans", mapped.spans),
                              ("metric_points", mapped.points)):
            if count:
                self.metrics.accepted.labels(signal).inc(count)

    def _store_payload(self, payload: bytes, wait: Wait) -> Awaitable[Any]:
        """OTLP: the mapping worker already encoded the queue entry."""
        if wait == "durable":
            return self.queue.append(payload)
        return self._commit(codec.decode(payload))

    def _store_records(
        self, project_id: UUID, records: Sequence[Record], wait: Wait
    ) -> Awaitable[Any]:
        if wait == "durable":
            return self.queue.append(codec.encode(project_id, records))
        return self.store.write_records([(project_id, r) for r in records])

    async def _commit(self, entry: codec.Entry) -> None:
        if entry.records:
            await self.store.write_records([(entry.project_id, r) for r in entry.records])
        if entry.points:
            await self.store.write_points([(entry.project_id, p) for p in entry.points])


def _counted(records: Sequence[Record]) -> Mapped:
    """The counts of validated native records (nothing rejected: they were validated)."""
    traces = sum(1 for r in records if isinstance(r, TraceRecord))
    spans = sum(1 for r in records if isinstance(r, SpanRecord))
    return Mapped(None, traces, spans)
