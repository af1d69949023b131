"""``Ingestor.ingest(project_id, records)``: THE one path every transport calls.

Durability contract (SPEC.md §7): the call returns only once the records are durable. Two modes:

* ``wait="commit"`` (native ``/batch`` routes): written to the database and committed.
* ``wait="durable"`` (``/async`` and OTLP): durable somewhere; until the disk queue lands this is
  the same database commit, so an acknowledgement never precedes durability.

Counters for accepted/rejected items live here so every transport is counted alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal
from uuid import UUID

from pulse.records import Record

WriteFn = Callable[[Sequence[tuple[UUID, Record]]], Awaitable[Any]]
Wait = Literal["commit", "durable"]


class Ingestor:
    """Hands mapped records to storage; counts what was accepted and rejected, by reason."""

    def __init__(self, write: WriteFn) -> None:
        self._write = write
        self.accepted: Counter[str] = Counter()  # by record kind: "traces" / "spans"
        self.rejected: Counter[str] = Counter()  # by reason

    async def ingest(
        self, project_id: UUID, records: Sequence[Record], *, wait: Wait = "durable"
    ) -> int:
        """Make ``records`` durable for ``project_id``; return how many were accepted."""
        if not records:
            return 0
        await self._write([(project_id, r) for r in records])
        for r in records:
            self.accepted["traces" if hasattr(r, "trace_id") else "spans"] += 1
        return len(records)

    def reject(self, reason: str, count: int = 1) -> None:
        """Count items refused before reaching :meth:`ingest` (validation, auth, size...)."""
        self.rejected[reason] += count
