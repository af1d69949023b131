"""``MemoryQueue``: the in-memory twin of the file queue - same interface, same byte bound and the
same answers to the same sequence of calls, no durability. For tests and benchmarks."""

from __future__ import annotations

import asyncio

from pulse.queue.bounded import BoundedQueue
from pulse.queue.segment import QueueEntry, frame_size

DEFAULT_MAX_BYTES = 1024 * 1024 * 1024


class MemoryQueue(BoundedQueue):
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        super().__init__(max_bytes)
        self._entries: list[QueueEntry] = []  # un-acked; _entries[i].seq == _base + i
        self._base = 1
        self._bytes = 0

    @classmethod
    async def open(cls, max_bytes: int = DEFAULT_MAX_BYTES) -> MemoryQueue:
        return cls(max_bytes)

    async def append_many(self, payloads: list[bytes]) -> list[int]:
        payloads = [bytes(p) for p in payloads]
        if not payloads:
            return []
        self._bytes += self._admit(payloads)
        first = self._base + len(self._entries)
        seqs = list(range(first, first + len(payloads)))
        self._entries.extend(QueueEntry(s, p) for s, p in zip(seqs, payloads, strict=True))
        self._data.set()
        await asyncio.sleep(0)  # an append is a suspension point, as with the file queue
        return seqs

    def _readable(self) -> bool:
        return self._read_seq < self._base + len(self._entries)

    async def _read_some(self, max_items: int, max_bytes: int) -> list[QueueEntry]:
        out: list[QueueEntry] = []
        total, i = 0, max(0, self._read_seq - self._base)
        while i < len(self._entries) and len(out) < max_items:
            entry = self._entries[i]
            if out and total + len(entry.payload) > max_bytes:
                break
            out.append(entry)
            total, i = total + len(entry.payload), i + 1
        return out

    async def ack(self, upto_seq: int) -> None:
        if upto_seq <= self._ack_seq:
            return
        last = self._base + len(self._entries) - 1
        if upto_seq > last:
            raise ValueError(f"ack({upto_seq}) beyond the last appended seq {last}")
        n = upto_seq - self._base + 1
        framed = sum(frame_size(e.payload) for e in self._entries[:n])
        del self._entries[:n]
        self._base, self._ack_seq = upto_seq + 1, upto_seq
        self._read_seq = max(self._read_seq, upto_seq + 1)
        self._bytes -= framed
        self._note_ack(framed)

    def depth(self) -> int:
        return len(self._entries)

    def bytes_used(self) -> int:
        return self._bytes

    async def close(self) -> None:
        self._closed = True
        self._data.set()
