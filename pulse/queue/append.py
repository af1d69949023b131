"""The file queue's append path: group commit.

One writer task owns the active segment. Appends admitted while a write+fsync is in flight wait
in ``pending`` and go out together in the next one, so N concurrent appends share few fsyncs;
each caller's future resolves only once its records are on disk. An append is never split
across segments: the segment rolls before a batch that would overflow it.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
from collections.abc import Callable
from typing import NamedTuple

from pulse.errors import Retryable
from pulse.queue.segment import (
    Segment,
    SegmentLog,
    UnknownDiskState,
    create_segment,
    frame,
    write_durably,
)

log = logging.getLogger("pulse.queue")


class _Pending(NamedTuple):
    payloads: list[bytes]
    framed: int
    future: asyncio.Future[list[int]]


class GroupCommit:
    """Durable appends to a :class:`SegmentLog`; ``run()`` is the writer task."""

    def __init__(
        self, seg_log: SegmentLog, segment_bytes: int, on_durable: Callable[[], None]
    ) -> None:
        self.log = seg_log
        self.segment_bytes = segment_bytes
        self._on_durable = on_durable  # called after each durable write: readers may go on
        self._pending: collections.deque[_Pending] = collections.deque()
        self.pending_bytes = 0  # admitted, not yet durable (counts in the queue's bound)
        self._wake = asyncio.Event()
        self._stopping = False
        self.broken: BaseException | None = None
        # for the queue benchmark: records per fsync is the whole story of group commit
        self.fsyncs = 0
        self.records = 0

    def check_usable(self) -> None:
        """Raise ``Retryable`` once a disk error left the segment in an unknown state."""
        if self.broken is not None:
            raise Retryable(f"ingest queue unusable after a disk error: {self.broken}")

    def submit(self, payloads: list[bytes], framed: int) -> asyncio.Future[list[int]]:
        """Queue an admitted append; the future gives its seqs once durable."""
        self.check_usable()
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(payloads, framed, future))
        self.pending_bytes += framed
        self._wake.set()
        return future

    def stop(self) -> None:
        """Finish what is pending, then let ``run()`` return."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while self._pending:
                    await self._write_next_batch()
            except Exception as exc:  # a bug, not an I/O error: fail loudly, never hang appends
                log.exception("queue writer failed")
                self.broken = exc
                self._fail_all(Retryable(f"ingest queue writer failed: {exc}"))
            if self._stopping:
                return

    def _fail_all(self, error: Retryable) -> None:
        while self._pending:
            item = self._pending.popleft()
            self.pending_bytes -= item.framed
            if not item.future.done():
                item.future.set_exception(error)

    def _take_batch(self) -> tuple[list[_Pending], bool]:
        """Pending appends for one write to one segment, and whether to roll before it."""
        batch: list[_Pending] = []
        size, nbytes, roll = self.log.active.end, 0, False
        while self._pending:
            item = self._pending[0]
            if item.future.done():  # the caller was cancelled before we wrote: never acked
                self._pending.popleft()
                self.pending_bytes -= item.framed
                continue
            if size + nbytes + item.framed > self.segment_bytes and size + nbytes > 0:
                if batch:
                    break
                roll, size = True, 0  # an append_many is never split across segments
            batch.append(self._pending.popleft())
            nbytes += item.framed
        return batch, roll

    async def _write_next_batch(self) -> None:
        batch, roll = self._take_batch()
        if not batch:
            return
        first = self.log.next_seq
        payloads = [p for item in batch for p in item.payloads]
        framed = sum(item.framed for item in batch)
        self.log.next_seq += len(payloads)
        try:
            offsets, end = await self._write(first, payloads, roll)
        except Exception as exc:
            self.log.next_seq = first
            self.pending_bytes -= framed
            log.error("queue write of %d records failed: %s", len(payloads), exc)
            for item in batch:
                if not item.future.done():
                    err = Retryable(f"ingest queue write failed: {exc}")
                    err.__cause__ = exc
                    item.future.set_exception(err)
            return
        self._index(first, payloads, offsets, end, framed)
        seq = first
        for item in batch:
            if not item.future.done():
                item.future.set_result(list(range(seq, seq + len(item.payloads))))
            seq += len(item.payloads)

    async def _write(self, first: int, payloads: list[bytes], roll: bool) -> tuple[list[int], int]:
        if self.broken is not None:
            raise self.broken
        if roll:
            self.log.segments.append(await asyncio.to_thread(self._roll, first))
        start = self.log.active.end
        buf, offsets = frame(first, payloads, start)
        try:
            await asyncio.to_thread(write_durably, self.log.fd, start, buf)
        except UnknownDiskState as exc:
            self.broken = exc  # we no longer know what is on disk: stop appending
            raise
        return offsets, start + len(buf)

    def _index(
        self, first: int, payloads: list[bytes], offsets: list[int], end: int, framed: int
    ) -> None:
        active = self.log.active
        active.seqs.extend(range(first, first + len(payloads)))
        active.offsets.extend(offsets)
        active.end = end
        self.log.last_seq = first + len(payloads) - 1
        self.log.depth += len(payloads)
        self.log.unacked_bytes += framed
        self.pending_bytes -= framed
        self.fsyncs += 1
        self.records += len(payloads)
        self._on_durable()

    def _roll(self, first_seq: int) -> Segment:
        """(thread) Start a new segment at ``first_seq`` and make it the active one."""
        seg = create_segment(self.log.directory, first_seq)
        fd = os.open(seg.path, os.O_WRONLY | os.O_APPEND)
        os.close(self.log.fd)
        self.log.fd = fd
        return seg
