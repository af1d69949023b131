"""What both queue implementations share: the byte bound (with a Retry-After estimate from the
recent ack rate), the read cursor, and waiting for data."""

from __future__ import annotations

import asyncio
import collections
import math
import time
from typing import Any

from pulse.errors import Overloaded, PayloadTooLarge
from pulse.queue.interface import QueueClosed
from pulse.queue.segment import HEADER, QueueEntry, frame_size

_ACK_RATE_WINDOW = 10.0  # seconds of ack history used to estimate Retry-After
_RETRY_AFTER_UNKNOWN, _RETRY_AFTER_MAX = 5, 30


class BoundedQueue:
    """Base class: subclasses provide ``append_many``, ``bytes_used``, ``_readable`` and
    ``_read_some``, and call ``_admit`` before an append and ``_note_ack`` after an ack."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes <= HEADER.size:
            raise ValueError(f"max_bytes must be > {HEADER.size}, got {max_bytes}")
        self._max_bytes = max_bytes
        self._ack_seq = 0  # everything <= this is done
        self._read_seq = 1  # the cursor: the next read returns seqs >= this
        self._closed = False
        self._data = asyncio.Event()  # set when something may have become readable
        self._read_lock = asyncio.Lock()
        self._ack_history: collections.deque[tuple[float, int]] = collections.deque()

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    async def __aenter__(self) -> Any:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:  # overridden by FileQueue
        return None

    async def close(self) -> None:
        raise NotImplementedError

    async def append(self, payload: bytes) -> int:
        return (await self.append_many([payload]))[0]

    async def append_many(self, payloads: list[bytes]) -> list[int]:
        """Append several payloads at once (all or none); their seqs once durable."""
        raise NotImplementedError

    def bytes_used(self) -> int:
        raise NotImplementedError

    def _admit(self, payloads: list[bytes]) -> int:
        """Check the bound for a new append; returns its framed size."""
        if self._closed:
            raise QueueClosed("the ingest queue is closed (shutting down)", retry_after=1)
        size = sum(frame_size(p) for p in payloads)
        if size > self._max_bytes or any(len(p) > 0xFFFFFFFF for p in payloads):
            raise PayloadTooLarge(
                f"payload of {size} bytes (framed) exceeds the queue bound of {self._max_bytes}"
            )
        used = self.bytes_used()
        if used + size > self._max_bytes:
            raise Overloaded(
                f"ingest queue is full ({used} of {self._max_bytes} bytes un-acked)",
                retry_after=self._retry_after(used + size - self._max_bytes),
            )
        return size

    def _recent_acks(self) -> collections.deque[tuple[float, int]]:
        now, hist = time.monotonic(), self._ack_history
        while hist and now - hist[0][0] > _ACK_RATE_WINDOW:
            hist.popleft()
        return hist

    def _retry_after(self, excess: int) -> int:
        """Seconds until ``excess`` bytes are likely acked, from the recent ack rate."""
        hist = self._recent_acks()
        now = time.monotonic()
        if not hist:  # nothing drained lately (database down?): a moderate default
            return _RETRY_AFTER_UNKNOWN
        rate = sum(b for _, b in hist) / max(now - hist[0][0], 1.0)
        return max(1, min(_RETRY_AFTER_MAX, math.ceil(excess / rate)))

    def _note_ack(self, framed: int) -> None:
        self._recent_acks().append((time.monotonic(), framed))

    async def read(
        self, max_items: int, max_bytes: int, timeout: float | None = None
    ) -> list[QueueEntry]:
        """The next unread entries in order: at most ``max_items`` and ``max_bytes`` of payload,
        but always at least one when any is available. Waits up to ``timeout`` seconds (None:
        until data or close) when there is none; ``[]`` on timeout or when closed."""
        if max_items < 1:
            return []
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        async with self._read_lock:
            while not self._closed:
                if self._readable():
                    entries = await self._read_some(max_items, max_bytes)
                    if entries:
                        self._read_seq = max(self._read_seq, entries[-1].seq + 1)
                        return entries
                    continue  # everything at the cursor was corrupt and skipped
                self._data.clear()
                remaining = None if deadline is None else deadline - loop.time()
                if remaining is not None and remaining <= 0:
                    return []
                try:
                    await asyncio.wait_for(self._data.wait(), remaining)
                except TimeoutError:
                    return []
        return []

    def _readable(self) -> bool:
        raise NotImplementedError

    async def _read_some(self, max_items: int, max_bytes: int) -> list[QueueEntry]:
        raise NotImplementedError
