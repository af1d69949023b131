"""``FileQueue``: the durable local queue of the ingest path, in segment files with group commit.

``append`` returns only once the entry is fsync'd, and the ingest path answers the client only
after that: nothing acknowledged to a client is lost by a crash. The writer loop ``read``s
batches, stores them and ``ack``s; un-acked entries are delivered again after a restart (the
database deduplicates), acked ones are not (the ack position is persisted).

The pieces, one concern per module: ``segment`` (on-disk format), ``recovery`` (the start-up
scan), ``append`` (group commit), ``consume`` (reads, acks, the persisted ack position).
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

from pulse.queue.append import GroupCommit
from pulse.queue.bounded import BoundedQueue
from pulse.queue.consume import AckPosition, plan_read, release
from pulse.queue.recovery import Recovered, recover
from pulse.queue.segment import HEADER, QueueEntry, SegmentLog, read_records, unlink_all

log = logging.getLogger("pulse.queue")

DEFAULT_MAX_BYTES = 1024 * 1024 * 1024
DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024


class FileQueue(BoundedQueue):
    """``async with FileQueue(directory, max_bytes=..., segment_bytes=...) as q`` or
    ``q = await FileQueue.open(directory, ...)`` ... ``await q.close()``.

    After start, ``recovered`` tells what the start-up scan had to drop, ``group_commit`` holds
    the append path's counters (fsyncs, records).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        ack_persist_interval: float = 0.2,
    ) -> None:
        super().__init__(max_bytes)
        if segment_bytes <= HEADER.size:
            raise ValueError(f"segment_bytes must be > {HEADER.size}, got {segment_bytes}")
        self.directory = Path(directory)
        self._segment_bytes = segment_bytes
        self._ack_interval = ack_persist_interval
        self._log = SegmentLog(self.directory, [])
        self.recovered: Recovered | None = None
        self.group_commit = GroupCommit(self._log, segment_bytes, self._data.set)
        self._acks = AckPosition(self.directory, 0, ack_persist_interval)
        self._lock_fd = -1
        self._io_lock = asyncio.Lock()  # disk reads vs segment deletion
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    async def open(cls, directory: str | os.PathLike[str], **kwargs: Any) -> FileQueue:
        queue = cls(directory, **kwargs)
        await queue.start()
        return queue

    async def start(self) -> None:
        """Lock the directory, recover the segments, start the writer; idempotent."""
        if self._tasks or self._closed:
            return
        found = await asyncio.to_thread(recover, self.directory)
        self.recovered, self._lock_fd, self._log = found, found.lock_fd, found.log
        self._ack_seq = found.ack_seq
        self._read_seq = found.ack_seq + 1
        self.group_commit = GroupCommit(self._log, self._segment_bytes, self._data.set)
        self._acks = AckPosition(self.directory, found.ack_seq, self._ack_interval)
        self._tasks = [
            asyncio.create_task(self.group_commit.run(), name="pulse-queue-writer"),
            asyncio.create_task(self._acks.run(), name="pulse-queue-ack"),
        ]

    async def append_many(self, payloads: list[bytes]) -> list[int]:
        """Append several payloads in one write+fsync; returns their seqs once durable."""
        payloads = [bytes(p) for p in payloads]
        if not payloads:
            return []
        self.group_commit.check_usable()
        framed = self._admit(payloads)
        if not self._tasks:
            raise RuntimeError("FileQueue.start() (or `async with`) was not called")
        return await self.group_commit.submit(payloads, framed)

    def _readable(self) -> bool:
        return self._log.last_seq >= self._read_seq

    async def _read_some(self, max_items: int, max_bytes: int) -> list[QueueEntry]:
        async with self._io_lock:
            plan = plan_read(self._log, self._read_seq, max_items, max_bytes)
            entries, bad = await asyncio.to_thread(read_records, plan)
        if plan:
            self._read_seq = max(self._read_seq, plan[-1][1][-1][0] + 1)
        for path, seq in bad:
            log.error("queue record %d in %s is corrupt on read-back; skipped", seq, path.name)
        return entries

    async def ack(self, upto_seq: int) -> None:
        """Everything <= ``upto_seq`` is stored: free it, delete fully acked segments, and
        persist the position (lazily, at most every ``ack_persist_interval`` s, and at close)."""
        if upto_seq <= self._ack_seq:
            return
        if upto_seq > self._log.last_seq:
            raise ValueError(f"ack({upto_seq}) beyond the last appended seq {self._log.last_seq}")
        framed, dead = release(self._log, self._ack_seq, upto_seq)
        self._ack_seq = upto_seq
        self._read_seq = max(self._read_seq, upto_seq + 1)
        self._note_ack(framed)
        self._acks.advance(upto_seq)
        if dead:
            async with self._io_lock:  # not under a read in flight
                await asyncio.to_thread(unlink_all, [seg.path for seg in dead])

    def depth(self) -> int:
        return self._log.depth

    def bytes_used(self) -> int:
        return self._log.unacked_bytes + self.group_commit.pending_bytes

    async def close(self) -> None:
        """Finish pending appends, persist the ack position, close files, unlock. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._data.set()
        if self._tasks:
            writer, flusher = self._tasks
            self.group_commit.stop()
            await writer
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            try:
                await self._acks.persist()
            except OSError as exc:
                log.warning("could not persist the queue ack position at close: %s", exc)
        for fd in (self._log.fd, self._lock_fd):
            if fd >= 0:
                os.close(fd)
        self._log.fd = self._lock_fd = -1
