"""OTLP decoding and mapping, in worker processes when configured: where OTLP bytes are parsed,
once.

Mapping a GenAI span costs ~90 us of pure Python; on the event loop that caps one process at a
few thousand spans/s while the database and the other cores idle. ``Mapper`` runs decode + map +
queue encoding of one export body (the raw bytes the receiver got, protobuf or OTLP/JSON) in a
``ProcessPoolExecutor`` (spawned workers: the service has threads, so no fork) and hands the main
process a ready queue payload, which it only has to append durably. Mapping still happens
*before* the acknowledgement, so ``partial_success`` stays exact.

``workers=0`` runs the same function inline (tests, tiny deployments).

Workers never outlive the service: each runs a watchdog thread that exits the worker as soon as
its parent is gone (``kill -9`` of ``serve`` leaves no orphans; a worker busy with a huge export
is stopped too, since ``os._exit`` does not wait for the mapping to finish).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from uuid import UUID

from pulse.errors import InvalidInput, PulseError, Retryable
from pulse.mapping import (
    current_aliases,
    decode_logs_request,
    decode_metrics_request,
    decode_traces_request,
    map_logs,
    map_metrics,
    map_traces,
    set_model_aliases,
)
from pulse.pipeline import codec

JSON = "application/json"
SIGNALS = ("traces", "logs", "metrics")
ARRAY_HINT = (
    "POST /v1/traces takes an OTLP ExportTraceServiceRequest object; "
    "use POST /v1/traces/async for native Pulse trace arrays"
)


@dataclass(frozen=True, slots=True)
class Mapped:
    """What one export became: a queue payload (None when nothing was kept) and the counts."""

    payload: bytes | None
    traces: int = 0
    spans: int = 0
    points: int = 0
    rejected: int = 0  # invalid items
    dropped: int = 0  # valid items Pulse does not keep (generic spans)
    messages: list[str] = field(default_factory=list)
    bounded: dict[str, int] = field(default_factory=dict)  # values cut/nulled, by action/field


def is_empty(body: bytes, content_type: str) -> bool:
    """An empty body is an empty (valid) export request (for JSON: only whitespace)."""
    return not body.strip() if content_type == JSON else not body


def map_export(
    signal: str, body: bytes, content_type: str, project_id: UUID, keep_generic: bool
) -> Mapped:
    """Decode an OTLP export body, map it, encode what it yields for the queue (pure; picklable).

    Raises ``InvalidInput`` for a body that is not a valid export request of ``signal``."""
    if is_empty(body, content_type):
        return Mapped(None)
    if signal == "traces" and content_type == JSON and body.lstrip()[:1] == b"[":
        raise InvalidInput(ARRAY_HINT)
    if signal == "metrics":
        points, rejected, messages = map_metrics(decode_metrics_request(body, content_type))
        payload = codec.encode(project_id, (), points) if points else None
        return Mapped(payload, points=len(points), rejected=rejected, messages=list(messages))
    if signal == "traces":
        result = map_traces(decode_traces_request(body, content_type), keep_generic=keep_generic)
    else:
        result = map_logs(decode_logs_request(body, content_type))
    records = [*result.traces, *result.spans]
    payload = codec.encode(project_id, records) if records else None
    return Mapped(payload, len(result.traces), len(result.spans), 0, result.rejected,
                  result.dropped, list(result.messages), result.bounded)


def _warm() -> bool:
    return True


PARENT_POLL_S = 0.5


def _init_worker(parent: int, aliases) -> None:
    """Worker initializer: the parent watchdog and the model aliases."""
    _watch_parent(parent)
    set_model_aliases(aliases)


def _watch_parent(parent: int) -> None:
    """Worker initializer: exit this process once ``parent`` is no longer its parent (it died
    and the worker was re-parented). Polling ``getppid`` works for any way the parent ends and
    needs no signal set up by the thread that happened to spawn the worker (unlike
    ``PR_SET_PDEATHSIG``, which fires when that *thread* exits)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(0)

    threading.Thread(target=watch, name="pulse-parent-watchdog", daemon=True).start()


class Mapper:
    """Runs :func:`map_export` inline or in ``workers`` processes (an async context manager)."""

    def __init__(
        self,
        workers: int = 0,
        *,
        keep_generic: bool = False,
        model_aliases: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.workers = workers
        self.keep_generic = keep_generic
        self.model_aliases = model_aliases
        self._pool: ProcessPoolExecutor | None = None
        self._aliases_before: tuple[tuple[str, str], ...] = ()

    async def __aenter__(self) -> Mapper:
        # Pricing aliases are process-wide mapping configuration (pulse/mapping/cost.py): set
        # here for inline mapping and the native routes, and in each worker by its initializer.
        self._aliases_before = current_aliases()
        set_model_aliases(self.model_aliases)
        if self.workers > 0:
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker, initargs=(os.getpid(), self.model_aliases),
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
        set_model_aliases(self._aliases_before)

    async def map(self, signal: str, body: bytes, content_type: str, project_id: UUID) -> Mapped:
        """Map one export; raises the mapping's ``PulseError`` (e.g. InvalidInput) unchanged."""
        if signal not in SIGNALS:
            raise ValueError(f"unknown OTLP signal {signal!r}")
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
