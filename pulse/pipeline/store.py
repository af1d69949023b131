"""The storage functions the pipeline calls, passed in by ``main`` (the pipeline never imports
``storage``). Each raises ``errors.Retryable`` when the database is unreachable and
``errors.Unstorable`` when it refuses the data for good; every write is idempotent (a replayed
queue entry never duplicates a row)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pulse.records import MetricPoint, Record

WriteRecords = Callable[[Sequence[tuple[UUID, Record]]], Awaitable[Any]]
WritePoints = Callable[[Sequence[tuple[UUID, MetricPoint]]], Awaitable[Any]]
# (project_id or None, kind, payload JSON, reason)
DeadLetter = tuple[UUID | None, str, str, str]
WriteDeadLetters = Callable[[Sequence[DeadLetter]], Awaitable[Any]]
Ping = Callable[[], Awaitable[Any]]  # raises when the database does not answer


@dataclass(frozen=True, slots=True)
class Store:
    write_records: WriteRecords  # traces and spans, ``(project_id, record)`` pairs
    write_points: WritePoints  # OTLP metric points, ``(project_id, point)`` pairs
    write_dead_letters: WriteDeadLetters  # what the database refused, with the reason
    ping: Ping | None = None  # tells a database that answers from one that is down
