"""The file queue's on-disk format: framed records in segment files, and the ack position file.

In the queue's directory:
  ``queue-<first seq, 20 digits>.seg``  append-only segments, rolled at ``segment_bytes``; each
                                        record is ``<u32 payload length><u32 crc32><u64 seq>``
                                        + payload, the CRC covering length, seq and payload
  ``ack.pos``                           the ack position, replaced atomically (tmp+fsync+rename)
  ``queue.lock``                        flock'd by the one process that owns the directory

Everything here is synchronous file I/O, run in threads by the callers.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import zlib
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

log = logging.getLogger("pulse.queue")

HEADER = struct.Struct("<IIQ")  # payload length, crc32, seq
_CRC_PREFIX = struct.Struct("<IQ")  # what the CRC covers before the payload
SEGMENT_RE = re.compile(r"^queue-(\d{20})\.seg$")
ACK_NAME, LOCK_NAME = "ack.pos", "queue.lock"
_ACK_RE = re.compile(r"PBQACK1 (\d+) ([0-9a-f]{8})\n")
fdatasync = getattr(os, "fdatasync", os.fsync)


class QueueEntry(NamedTuple):
    seq: int
    payload: bytes


# One planned read: [(segment path, [(seq, start offset, end offset), ...]), ...]
ReadPlan = list[tuple[Path, list[tuple[int, int, int]]]]


def frame_size(payload: bytes) -> int:
    """Bytes one payload takes on disk (and in the queue's byte bound)."""
    return HEADER.size + len(payload)


def crc(length: int, seq: int, payload: Any) -> int:
    return zlib.crc32(payload, zlib.crc32(_CRC_PREFIX.pack(length, seq)))


def frame(first_seq: int, payloads: list[bytes], start: int) -> tuple[bytearray, list[int]]:
    """The framed records of ``payloads`` (seqs from ``first_seq``) and their file offsets."""
    buf, offsets = bytearray(), []
    for seq, payload in enumerate(payloads, first_seq):
        offsets.append(start + len(buf))
        buf += HEADER.pack(len(payload), crc(len(payload), seq, payload), seq)
        buf += payload
    return buf, offsets


@dataclass
class SegmentLog:
    """The segments of a queue directory as the appender and the reader share them."""

    directory: Path
    segments: list[Segment]
    fd: int = -1  # the active (last) segment, opened O_APPEND
    next_seq: int = 1
    last_seq: int = 0  # last durable, indexed seq
    depth: int = 0  # durable records not yet acked
    unacked_bytes: int = 0  # durable framed bytes not yet acked

    @property
    def active(self) -> Segment:
        return self.segments[-1]


class Segment:
    """One segment file and the index of its un-acked records (seq and offset, 16 B each)."""

    __slots__ = ("end", "first_seq", "offsets", "path", "seqs")

    def __init__(self, path: Path, first_seq: int) -> None:
        self.path, self.first_seq = path, first_seq
        self.seqs, self.offsets = array("Q"), array("Q")
        self.end = 0  # end of the last good record

    def record_end(self, i: int) -> int:
        return self.offsets[i + 1] if i + 1 < len(self.offsets) else self.end


def segment_path(directory: Path, first_seq: int) -> Path:
    return directory / f"queue-{first_seq:020d}.seg"


def create_segment(directory: Path, first_seq: int) -> Segment:
    """A new, empty segment file whose name is durable (before any of its records is acked)."""
    path = segment_path(directory, first_seq)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(directory)
    return Segment(path, first_seq)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class UnknownDiskState(OSError):
    """A failed append could not be undone: what the segment holds is unknown (stop appending)."""


def write_durably(fd: int, start: int, buf: bytearray) -> None:
    """Append ``buf`` to the segment open as ``fd`` and fdatasync it; on failure cut the file
    back to ``start`` so that no unacknowledged bytes stay behind."""
    try:
        view = memoryview(buf)
        while view:
            view = view[os.write(fd, view) :]
        fdatasync(fd)
    except BaseException as exc:
        try:
            os.ftruncate(fd, start)
            os.fsync(fd)
        except OSError as repair:
            raise UnknownDiskState(f"{exc}; cutting the segment back failed: {repair}") from exc
        raise


def read_records(plan: ReadPlan) -> tuple[list[QueueEntry], list[tuple[Path, int]]]:
    """One pread per segment; every record's CRC is checked again. (entries, corrupt ones)."""
    entries: list[QueueEntry] = []
    bad: list[tuple[Path, int]] = []
    for path, records in plan:
        base = records[0][1]
        fd = os.open(path, os.O_RDONLY)
        try:
            data = os.pread(fd, records[-1][2] - base, base)
        finally:
            os.close(fd)
        for seq, abs_start, abs_end in records:
            start, end = abs_start - base, abs_end - base
            if end > len(data):
                bad.append((path, seq))
                continue
            length, checksum, got = HEADER.unpack_from(data, start)
            payload = data[start + HEADER.size : end]
            if got != seq or length != len(payload) or crc(length, seq, payload) != checksum:
                bad.append((path, seq))
                continue
            entries.append(QueueEntry(seq, payload))
    return entries, bad


def count_frames(data: bytes, pos: int) -> int:
    """Best effort: the bad record at ``pos`` plus the intact frames that follow it."""
    count, size = 1, len(data)
    if size - pos < HEADER.size:
        return count
    pos += HEADER.size + HEADER.unpack_from(data, pos)[0]
    while pos + HEADER.size <= size:
        length, checksum, seq = HEADER.unpack_from(data, pos)
        end = pos + HEADER.size + length
        if end > size or crc(length, seq, data[pos + HEADER.size : end]) != checksum:
            break
        count, pos = count + 1, end
    return count


def unlink_all(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not delete acked queue segment %s: %s", path, exc)


def load_ack(directory: Path) -> int:
    """The persisted ack position (0 when absent or unreadable: replaying is safe, loss is not)."""
    path = directory / ACK_NAME
    try:
        text = path.read_text()
    except FileNotFoundError:
        return 0
    match = _ACK_RE.fullmatch(text)
    if match and zlib.crc32(match[1].encode()) == int(match[2], 16):
        return int(match[1])
    log.warning("ignoring unreadable ack file %s; un-acked data will be replayed", path)
    return 0


def write_ack(directory: Path, seq: int) -> None:
    """Replace the ack position atomically: tmp file, fsync, rename, fsync the directory."""
    text = f"PBQACK1 {seq} {zlib.crc32(str(seq).encode()):08x}\n".encode()
    tmp = directory / f"{ACK_NAME}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, text)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, directory / ACK_NAME)
    fsync_dir(directory)
