"""The file queue's read and ack side: planning reads over the segment index, releasing acked
records (and deleting fully acked segments), and persisting the ack position lazily."""

from __future__ import annotations

import asyncio
import bisect
import logging
from pathlib import Path

from pulse.queue.segment import HEADER, ReadPlan, Segment, SegmentLog, write_ack

log = logging.getLogger("pulse.queue")


def plan_read(seg_log: SegmentLog, read_seq: int, max_items: int, max_bytes: int) -> ReadPlan:
    """Where the next read's records are: at most ``max_items`` and ``max_bytes`` of payload
    from ``read_seq`` on (always at least one record when any is there)."""
    plan, n, total = [], 0, 0
    for seg in seg_log.segments:
        if not seg.seqs or seg.seqs[-1] < read_seq:
            continue
        i = bisect.bisect_left(seg.seqs, read_seq)
        records = []
        while i < len(seg.seqs) and n < max_items:
            start, end = seg.offsets[i], seg.record_end(i)
            size = end - start - HEADER.size
            if n and total + size > max_bytes:
                break
            records.append((seg.seqs[i], start, end))
            n, total, i = n + 1, total + size, i + 1
        if records:
            plan.append((seg.path, records))
        if i < len(seg.seqs):
            break
    return plan


def release(seg_log: SegmentLog, ack_seq: int, upto_seq: int) -> tuple[int, list[Segment]]:
    """Forget the records in ``(ack_seq, upto_seq]``: the framed bytes freed, and the segments
    now fully acked (removed from the log; the caller deletes their files)."""
    records = framed = 0
    for seg in seg_log.segments:
        i0 = bisect.bisect_right(seg.seqs, ack_seq)
        i1 = bisect.bisect_right(seg.seqs, upto_seq)
        if i1 > i0:
            records += i1 - i0
            framed += seg.record_end(i1 - 1) - seg.offsets[i0]
        if i1 < len(seg.seqs):
            break
    seg_log.depth -= records
    seg_log.unacked_bytes -= framed
    dead: list[Segment] = []
    segments = seg_log.segments
    while len(segments) > 1 and (not segments[0].seqs or segments[0].seqs[-1] <= upto_seq):
        dead.append(segments.pop(0))  # the active (last) segment stays: it is appended to
    return framed, dead


class AckPosition:
    """Persists the ack position in ``ack.pos`` at most every ``interval`` seconds (a background
    task) and at close. Losing the latest acks in a crash only replays stored entries."""

    def __init__(self, directory: Path, persisted: int, interval: float) -> None:
        self.directory = directory
        self.seq = self._persisted = persisted
        self.interval = interval
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def advance(self, seq: int) -> None:
        self.seq = seq
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await asyncio.shield(self.persist())
            except OSError as exc:  # replaying acked data is safe; keep going
                log.warning("could not persist the queue ack position: %s", exc)
            await asyncio.sleep(self.interval)

    async def persist(self) -> None:
        async with self._lock:
            seq = self.seq
            if seq != self._persisted:
                await asyncio.to_thread(write_ack, self.directory, seq)
                self._persisted = seq
