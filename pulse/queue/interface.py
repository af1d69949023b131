"""What the ingest path needs from a queue: ``IngestQueue``, small enough for other backends.

Contract (docs/architecture.md §Ingest path):

* ``append(payload)`` returns the entry's sequence number once the entry is durable; the ingest
  path answers the client only after that. A full queue raises ``errors.Overloaded`` (with a
  ``retry_after`` estimate), a payload that can never fit raises ``errors.PayloadTooLarge``, a
  closed queue raises :class:`QueueClosed` (retryable).
* ``read(max_items, max_bytes, timeout)`` returns the next unread entries in order (at least one
  when any is available, even if larger than ``max_bytes``); ``[]`` on timeout or when closed.
* ``ack(upto_seq)`` marks every entry up to ``upto_seq`` stored: they are never delivered again.
  Un-acked entries are delivered again after a restart (the writer's writes are idempotent).
* ``depth()`` / ``bytes_used()`` / ``max_bytes``: for readiness and ``GET /metrics``; the bound
  counts framed bytes of entries not yet acked.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pulse.errors import Retryable
from pulse.queue.segment import QueueEntry

__all__ = ["IngestQueue", "QueueClosed", "QueueEntry"]


class QueueClosed(Retryable):
    """Append on a closed queue (shutdown in progress): the client should retry elsewhere/later."""


@runtime_checkable
class IngestQueue(Protocol):
    async def append(self, payload: bytes) -> int: ...
    async def read(
        self, max_items: int, max_bytes: int, timeout: float | None = None
    ) -> list[QueueEntry]: ...
    async def ack(self, upto_seq: int) -> None: ...
    def depth(self) -> int: ...
    def bytes_used(self) -> int: ...
    @property
    def max_bytes(self) -> int: ...
    async def close(self) -> None: ...
    async def __aenter__(self) -> Any: ...
    async def __aexit__(self, *exc_info: object) -> None: ...
