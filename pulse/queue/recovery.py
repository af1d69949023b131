"""Start-up of a file queue directory: take the lock, read the ack position, scan every segment.

The scan indexes the un-acked records of each segment and stops at the first bad one (torn
header, record running past the end of the file, CRC mismatch, sequence out of order). A bad
tail of the *last* segment is what a crash in the middle of an append leaves: it was never
acknowledged, so it is cut off and appends continue after the last good record. Damage in an
older segment skips the rest of that segment only. Both are logged with what was dropped.
"""

from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from pulse.queue.segment import (
    HEADER,
    LOCK_NAME,
    SEGMENT_RE,
    Segment,
    SegmentLog,
    count_frames,
    crc,
    create_segment,
    load_ack,
)

log = logging.getLogger("pulse.queue")


class QueueLocked(RuntimeError):
    """Another process (or another open FileQueue) owns the queue directory."""


@dataclass
class Recovered:
    """What start-up found: the segments, the ack position, and what it had to drop."""

    log: SegmentLog
    ack_seq: int
    lock_fd: int
    truncated_records: int = 0  # best-effort count of records cut or skipped
    truncated_bytes: int = 0


def recover(directory: Path) -> Recovered:
    """(thread) Lock ``directory`` and rebuild the queue's state from its files."""
    directory.mkdir(parents=True, exist_ok=True)
    lock_fd = _lock(directory)
    try:
        ack_seq = load_ack(directory)
        for tmp in directory.glob("*.tmp"):
            tmp.unlink()
        found = sorted(
            (int(m[1]), p) for p in directory.iterdir() if (m := SEGMENT_RE.match(p.name))
        )
        state = Recovered(SegmentLog(directory, []), ack_seq, lock_fd)
        last_seen = 0
        for i, (first, path) in enumerate(found):
            seg, last_seen = _scan(state, path, first, last_seen, is_last=i == len(found) - 1)
            state.log.segments.append(seg)
        _open_active(state, last_seen, [first for first, _ in found])
        return state
    except BaseException:
        os.close(lock_fd)
        raise


def _open_active(state: Recovered, last_seen: int, firsts: list[int]) -> None:
    """Drop leading segments with nothing un-acked; open (or create) the one to append to."""
    seg_log = state.log
    seg_log.last_seq = last_seen
    names = (first - 1 for first in firsts)  # a segment is named by its first seq
    seg_log.next_seq = max(last_seen, state.ack_seq, *names) + 1
    while len(seg_log.segments) > 1 and not seg_log.segments[0].seqs:
        seg_log.segments.pop(0).path.unlink()
    if not seg_log.segments:
        seg_log.segments.append(create_segment(seg_log.directory, seg_log.next_seq))
    seg_log.fd = os.open(seg_log.active.path, os.O_WRONLY | os.O_APPEND)


def _lock(directory: Path) -> int:
    path = directory / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise QueueLocked(
            f"queue directory {directory} is already in use (lock {path} held by pid "
            f"{owner}); only one process may own a queue directory"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _scan(
    state: Recovered, path: Path, first: int, last_seen: int, is_last: bool
) -> tuple[Segment, int]:
    """Index one segment's un-acked records; stop at the first bad one (cut it if last)."""
    data = path.read_bytes()
    seg = Segment(path, first)
    pos, last_seen, problem = _index(data, seg, last_seen, state.ack_seq)
    seg.end = pos
    if problem:
        _drop_tail(state, path, data, pos, problem, is_last)
    state.log.depth += len(seg.seqs)
    if seg.seqs:
        state.log.unacked_bytes += seg.end - seg.offsets[0]
    return seg, last_seen


def _index(data: bytes, seg: Segment, last_seen: int, ack_seq: int) -> tuple[int, int, str]:
    """Walk the records of ``data``: (end of the last good one, its seq, the problem or '')."""
    view, pos, size = memoryview(data), 0, len(data)
    while pos < size:
        if size - pos < HEADER.size:
            return pos, last_seen, "partial record header"
        length, checksum, seq = HEADER.unpack_from(data, pos)
        end = pos + HEADER.size + length
        if end > size:
            return pos, last_seen, "record runs past the end of the file"
        if crc(length, seq, view[pos + HEADER.size : end]) != checksum:
            return pos, last_seen, "CRC mismatch"
        if seq <= last_seen:
            return pos, last_seen, f"sequence {seq} out of order"
        if seq > ack_seq:
            seg.seqs.append(seq)
            seg.offsets.append(pos)
        last_seen, pos = seq, end
    return pos, last_seen, ""


def _drop_tail(
    state: Recovered, path: Path, data: bytes, pos: int, problem: str, is_last: bool
) -> None:
    size = len(data)
    records = count_frames(data, pos)
    state.truncated_records += records
    state.truncated_bytes += size - pos
    action = "truncated the segment there" if is_last else "skipped the rest of it"
    log.warning(
        "queue recovery: %s at offset %d in %s; dropped %d bytes (~%d records); %s",
        problem, pos, path.name, size - pos, records, action,
    )
    if is_last:
        with open(path, "r+b") as f:
            f.truncate(pos)
            os.fsync(f.fileno())
