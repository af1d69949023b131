"""CPU-bound OTLP decoding and mapping, in worker processes when configured.

Mapping a GenAI span costs ~90 us of pure Python; on the event loop that caps one process at a
few thousand spans/s while the database and the other cores idle. ``Mapper`` runs decode + map +
queue encoding in a ``ProcessPoolExecutor`` (spawned workers: the service has threads, so no
fork) and hands the main process a ready queue payload, which it only has to append durably.
Mapping still happens *before* the acknowledgement, so ``partial_success`` stays exact.

``workers=0`` runs the same function inline (tests, tiny deployments).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from uuid import UUID

from pulse.collector import codec
from pulse.errors import PulseError, Retryable
from pulse.mapping import decode_logs_request, decode_traces_request, map_logs, map_traces

PROTOBUF = "application/x-protobuf"


@dataclass(frozen=True, slots=True)
class Mapped:
    """What one export became: a queue payload (None when nothing was kept) and the counts."""

    payload: bytes | None
    traces: int
    spans: int
    rejected: int
    dropped: int
    messages: list[str] = field(default_factory=list)


def map_export(
    signal: str, body: bytes, content_type: str, project_id: UUID, keep_generic: bool
) -> Mapped:
    """Decode an OTLP export body, map it, encode the records for the queue (pure; picklable)."""
    if signal == "traces":
        result = map_traces(decode_traces_request(body, content_type), keep_generic=keep_generic)
    else:
        result = map_logs(decode_logs_request(body, content_type))
    records = [*result.traces, *result.spans]
    payload = codec.encode(project_id, records) if records else None
    return Mapped(payload, len(result.traces), len(result.spans), result.rejected,
                  result.dropped, list(result.messages))


def _warm() -> bool:
    return True


class Mapper:
    """Runs :func:`map_export` inline or in ``workers`` processes (an async context manager)."""

    def __init__(self, workers: int = 0, *, keep_generic: bool = False) -> None:
        self.workers = workers
        self.keep_generic = keep_generic
        self._pool: ProcessPoolExecutor | None = None

    async def __aenter__(self) -> Mapper:
        if self.workers > 0:
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn")
            )
            loop = asyncio.get_running_loop()
            # start every worker now (imports take ~1 s), not on the first request
            await asyncio.gather(*(loop.run_in_executor(self._pool, _warm)
                                   for _ in range(self.workers)))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    async def map(self, signal: str, body: bytes, content_type: str, project_id: UUID) -> Mapped:
        """Map one export; raises the mapping's ``PulseError`` (e.g. InvalidInput) unchanged."""
        if self._pool is None:
            return map_export(signal, body, content_type, project_id, self.keep_generic)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._pool, map_export, signal, body, content_type, project_id,
                self.keep_generic,
            )
        except PulseError:
            raise
        except BrokenProcessPool as exc:  # a worker died (OOM kill...): retryable for clients
            raise Retryable("mapping worker unavailable, retry later") from exc
