"""The durable local queue of the ingest path (DESIGN.md "The ingest path", SPEC.md §7).

``ingest()`` appends and answers the client only once ``append`` has returned, i.e. once the
record is fsync'd; the writer loop ``read``s batches, writes them to the database and ``ack``s.
Nothing acknowledged to a client is lost by a crash; un-acked data is replayed after a restart
(the database deduplicates), acked data is not (the ack position is persisted).

On disk (``FileQueue``), in the caller's directory:
  ``queue-<first seq, 20 digits>.seg``  append-only segments, rolled at ``segment_bytes``; each
                                        record is ``<u32 payload length><u32 crc32><u64 seq>``
                                        + payload, the CRC covering length, seq and payload
  ``ack.pos``                           the ack position, replaced atomically (tmp+fsync+rename)
  ``queue.lock``                        flock'd by the one process that owns the directory
The byte bound counts framed records (header + payload) not yet acked, so both implementations
reject the same sequence of appends.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import fcntl
import logging
import math
import os
import re
import struct
import time
import zlib
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

from pulse.errors import Overloaded, PayloadTooLarge, Retryable

log = logging.getLogger("pulse.queue")

HEADER = struct.Struct("<IIQ")  # payload length, crc32, seq
_CRC_PREFIX = struct.Struct("<IQ")  # what the CRC covers before the payload
DEFAULT_MAX_BYTES = 1024 * 1024 * 1024
DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024
_SEGMENT_RE = re.compile(r"^queue-(\d{20})\.seg$")
_ACK_NAME, _LOCK_NAME = "ack.pos", "queue.lock"
_ACK_RATE_WINDOW = 10.0  # seconds of ack history used to estimate Retry-After
_RETRY_AFTER_UNKNOWN, _RETRY_AFTER_MAX = 5, 30
_fdatasync = getattr(os, "fdatasync", os.fsync)


class QueueEntry(NamedTuple):
    seq: int
    payload: bytes


@dataclass
class QueueStats:
    """Monotonic counters for /metrics (payload bytes; ``fsyncs`` is 0 for MemoryQueue)."""

    appended_records: int = 0
    appended_bytes: int = 0
    fsyncs: int = 0
    acked_records: int = 0
    acked_bytes: int = 0
    rejected_overloaded: int = 0
    rejected_too_large: int = 0
    recovered_truncated_records: int = 0  # best-effort count of records cut at start-up
    recovered_truncated_bytes: int = 0
    corrupt_records_skipped: int = 0  # CRC failures found when reading back after start-up


class QueueClosed(Retryable):
    """Append on a closed queue (shutdown in progress): the client should retry elsewhere/later."""


class QueueLocked(RuntimeError):
    """Another process (or another open FileQueue) owns the queue directory."""


@runtime_checkable
class IngestQueue(Protocol):
    stats: QueueStats

    async def append(self, payload: bytes) -> int: ...
    async def append_many(self, payloads: list[bytes]) -> list[int]: ...
    async def read(
        self,
        max_items: int,
        max_bytes: int,
        timeout: float | None = None,
    ) -> list[QueueEntry]: ...
    def rewind(self) -> None: ...
    async def ack(self, upto_seq: int) -> None: ...
    def depth(self) -> int: ...
    def bytes_used(self) -> int: ...
    @property
    def max_bytes(self) -> int: ...
    async def close(self) -> None: ...


def _frame_size(payload: bytes) -> int:
    return HEADER.size + len(payload)


def _crc(length: int, seq: int, payload: Any) -> int:
    return zlib.crc32(payload, zlib.crc32(_CRC_PREFIX.pack(length, seq)))


class _QueueBase:
    """What both implementations share: the bound, the read cursor and waiting, counters."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes <= HEADER.size:
            raise ValueError(f"max_bytes must be > {HEADER.size}, got {max_bytes}")
        self._max_bytes = max_bytes
        self.stats = QueueStats()
        self._ack_seq = 0  # everything <= this is done
        self._read_seq = 1  # the cursor: the next read returns seqs >= this
        self._closed = False
        self._data = asyncio.Event()  # set when something may have become readable
        self._read_lock = asyncio.Lock()
        self._ack_history: collections.deque[tuple[float, int]] = collections.deque()

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @property
    def recovered_truncated_records(self) -> int:
        return self.stats.recovered_truncated_records

    async def __aenter__(self) -> Any:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:  # overridden by FileQueue
        return None

    async def append(self, payload: bytes) -> int:
        return (await self.append_many([payload]))[0]

    async def append_many(self, payloads: list[bytes]) -> list[int]:
        raise NotImplementedError

    def bytes_used(self) -> int:
        raise NotImplementedError

    def rewind(self) -> None:
        """Re-deliver from the oldest un-acked entry (after a failed write of a batch)."""
        self._read_seq = self._ack_seq + 1
        self._data.set()

    def _admit(self, payloads: list[bytes]) -> int:
        """Check the bound for a new append; returns its framed size."""
        if self._closed:
            raise QueueClosed("the ingest queue is closed (shutting down)", retry_after=1)
        size = sum(_frame_size(p) for p in payloads)
        if size > self._max_bytes or any(len(p) > 0xFFFFFFFF for p in payloads):
            self.stats.rejected_too_large += 1
            raise PayloadTooLarge(
                f"payload of {size} bytes (framed) exceeds the queue bound of {self._max_bytes}"
            )
        used = self.bytes_used()
        if used + size > self._max_bytes:
            self.stats.rejected_overloaded += 1
            retry = self._retry_after(used + size - self._max_bytes)
            raise Overloaded(
                f"ingest queue is full ({used} of {self._max_bytes} bytes un-acked)",
                retry_after=retry,
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

    def _note_ack(self, records: int, framed: int) -> None:
        self.stats.acked_records += records
        self.stats.acked_bytes += framed - records * HEADER.size
        self._recent_acks().append((time.monotonic(), framed))

    async def read(
        self,
        max_items: int,
        max_bytes: int,
        timeout: float | None = None,
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


class MemoryQueue(_QueueBase):
    """The in-memory fake (DESIGN.md habit 9): same interface and bound, no durability."""

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
        self.stats.appended_records += len(payloads)
        self.stats.appended_bytes += sum(len(p) for p in payloads)
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
        framed = sum(_frame_size(e.payload) for e in self._entries[:n])
        del self._entries[:n]
        self._base, self._ack_seq = upto_seq + 1, upto_seq
        self._read_seq = max(self._read_seq, upto_seq + 1)
        self._bytes -= framed
        self._note_ack(n, framed)

    def depth(self) -> int:
        return len(self._entries)

    def bytes_used(self) -> int:
        return self._bytes

    async def close(self) -> None:
        self._closed = True
        self._data.set()


class _Segment:
    """One segment file and the index of its un-acked records (seq and offset, 16 B each)."""

    __slots__ = ("end", "first_seq", "offsets", "path", "seqs")

    def __init__(self, path: Path, first_seq: int) -> None:
        self.path, self.first_seq = path, first_seq
        self.seqs, self.offsets = array("Q"), array("Q")
        self.end = 0  # end of the last good record

    def record_end(self, i: int) -> int:
        return self.offsets[i + 1] if i + 1 < len(self.offsets) else self.end


class _Pending(NamedTuple):
    payloads: list[bytes]
    framed: int
    future: asyncio.Future[list[int]]


class FileQueue(_QueueBase):
    """Durable segment-file queue with group commit.

    ``async with FileQueue(directory, max_bytes=..., segment_bytes=...) as q`` or
    ``q = await FileQueue.open(directory, ...)`` ... ``await q.close()``.
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
        self._segments: list[_Segment] = []
        self._fd = -1  # the active (last) segment, opened O_APPEND
        self._lock_fd = -1
        self._next_seq = 1
        self._last_seq = 0  # last durable, indexed seq
        self._depth = 0
        self._unacked_bytes = 0  # durable, framed
        self._pending_bytes = 0  # admitted, not yet durable
        self._pending: collections.deque[_Pending] = collections.deque()
        self._wake_writer = asyncio.Event()
        self._io_lock = asyncio.Lock()  # disk reads vs segment deletion
        self._ack_lock = asyncio.Lock()
        self._ack_wake = asyncio.Event()
        self._ack_persisted = 0
        self._broken: BaseException | None = None
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
        await asyncio.to_thread(self._recover)
        self._tasks = [
            asyncio.create_task(self._writer(), name="pulse-queue-writer"),
            asyncio.create_task(self._ack_flusher(), name="pulse-queue-ack"),
        ]

    # -- start-up -------------------------------------------------------------------------------

    def _recover(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_directory()
        try:
            self._ack_seq = self._ack_persisted = self._load_ack()
            for tmp in self.directory.glob("*.tmp"):
                tmp.unlink()
            found = sorted(
                (int(m[1]), p) for p in self.directory.iterdir() if (m := _SEGMENT_RE.match(p.name))
            )
            last_seen = 0
            for i, (first, path) in enumerate(found):
                seg, last_seen = self._scan(path, first, last_seen, is_last=i == len(found) - 1)
                self._segments.append(seg)
            self._last_seq = last_seen
            names = (first - 1 for first, _ in found)  # a segment is named by its first seq
            self._next_seq = max(last_seen, self._ack_seq, *names) + 1
            while len(self._segments) > 1 and not self._segments[0].seqs:
                self._segments.pop(0).path.unlink()
            if not self._segments:
                self._segments.append(self._create_segment(self._next_seq))
            active = self._segments[-1]
            self._fd = os.open(active.path, os.O_WRONLY | os.O_APPEND)
            self._read_seq = self._ack_seq + 1
        except BaseException:
            os.close(self._lock_fd)
            self._lock_fd = -1
            raise

    def _lock_directory(self) -> None:
        path = self.directory / _LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise QueueLocked(
                f"queue directory {self.directory} is already in use (lock {path} held by pid "
                f"{owner}); only one process may own a queue directory"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _load_ack(self) -> int:
        path = self.directory / _ACK_NAME
        try:
            text = path.read_text()
        except FileNotFoundError:
            return 0
        match = re.fullmatch(r"PBQACK1 (\d+) ([0-9a-f]{8})\n", text)
        if match and zlib.crc32(match[1].encode()) == int(match[2], 16):
            return int(match[1])
        log.warning("ignoring unreadable ack file %s; un-acked data will be replayed", path)
        return 0

    def _scan(self, path: Path, first: int, last_seen: int, is_last: bool) -> tuple[_Segment, int]:
        """Index one segment's un-acked records; stop at the first bad one (cut it if last)."""
        data = path.read_bytes()
        view = memoryview(data)
        seg, pos, size, problem = _Segment(path, first), 0, len(data), ""
        while pos < size:
            if size - pos < HEADER.size:
                problem = "partial record header"
                break
            length, crc, seq = HEADER.unpack_from(data, pos)
            end = pos + HEADER.size + length
            if end > size:
                problem = "record runs past the end of the file"
                break
            if _crc(length, seq, view[pos + HEADER.size : end]) != crc:
                problem = "CRC mismatch"
                break
            if seq <= last_seen:
                problem = f"sequence {seq} out of order"
                break
            if seq > self._ack_seq:
                seg.seqs.append(seq)
                seg.offsets.append(pos)
            last_seen, pos = seq, end
        seg.end = pos
        if problem:
            records = _count_frames(data, pos)
            self.stats.recovered_truncated_records += records
            self.stats.recovered_truncated_bytes += size - pos
            action = "truncated the segment there" if is_last else "skipped the rest of it"
            log.warning(
                "queue recovery: %s at offset %d in %s; dropped %d bytes (~%d records); %s",
                problem,
                pos,
                path.name,
                size - pos,
                records,
                action,
            )
            if is_last:
                with open(path, "r+b") as f:
                    f.truncate(pos)
                    os.fsync(f.fileno())
        self._depth += len(seg.seqs)
        if seg.seqs:
            self._unacked_bytes += seg.end - seg.offsets[0]
        return seg, last_seen

    def _create_segment(self, first_seq: int) -> _Segment:
        path = self.directory / f"queue-{first_seq:020d}.seg"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self._fsync_dir()  # the new name must survive a crash before its records are acked
        return _Segment(path, first_seq)

    def _fsync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- appending: group commit ----------------------------------------------------------------

    async def append_many(self, payloads: list[bytes]) -> list[int]:
        """Append several payloads in one write+fsync; returns their seqs once durable."""
        payloads = [bytes(p) for p in payloads]
        if not payloads:
            return []
        if self._broken is not None:
            raise Retryable(f"ingest queue unusable after a disk error: {self._broken}")
        framed = self._admit(payloads)
        if not self._tasks:
            raise RuntimeError("FileQueue.start() (or `async with`) was not called")
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(payloads, framed, future))
        self._pending_bytes += framed
        self._wake_writer.set()
        return await future

    async def _writer(self) -> None:
        # One writer: whatever is appended while a write+fsync is in flight waits in _pending
        # and goes out together in the next one, so N concurrent appends share few fsyncs.
        while True:
            await self._wake_writer.wait()
            self._wake_writer.clear()
            try:
                while self._pending:
                    await self._write_next_batch()
            except Exception as exc:  # a bug, not an I/O error: fail loudly, never hang appends
                log.exception("queue writer failed")
                self._broken = exc
                while self._pending:
                    item = self._pending.popleft()
                    self._pending_bytes -= item.framed
                    if not item.future.done():
                        item.future.set_exception(Retryable(f"ingest queue writer failed: {exc}"))
            if self._closed:
                return

    def _take_batch(self) -> tuple[list[_Pending], bool]:
        """Pending appends for one write to one segment, and whether to roll before it."""
        batch: list[_Pending] = []
        size, nbytes, roll = self._segments[-1].end, 0, False
        while self._pending:
            item = self._pending[0]
            if item.future.done():  # the caller was cancelled before we wrote: never acked
                self._pending.popleft()
                self._pending_bytes -= item.framed
                continue
            if size + nbytes + item.framed > self._segment_bytes and size + nbytes > 0:
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
        first = self._next_seq
        payloads = [p for item in batch for p in item.payloads]
        framed = sum(item.framed for item in batch)
        self._next_seq += len(payloads)
        try:
            if self._broken is not None:
                raise self._broken
            if roll:
                self._segments.append(await asyncio.to_thread(self._roll, first))
            active = self._segments[-1]
            offsets, end = await asyncio.to_thread(self._write_sync, active.end, first, payloads)
        except Exception as exc:
            self._next_seq = first
            self._pending_bytes -= framed
            log.error("queue write of %d records failed: %s", len(payloads), exc)
            for item in batch:
                if not item.future.done():
                    err = Retryable(f"ingest queue write failed: {exc}")
                    err.__cause__ = exc
                    item.future.set_exception(err)
            return
        active.seqs.extend(range(first, first + len(payloads)))
        active.offsets.extend(offsets)
        active.end = end
        self._last_seq = first + len(payloads) - 1
        self._pending_bytes -= framed
        self._unacked_bytes += framed
        self._depth += len(payloads)
        self.stats.fsyncs += 1
        self.stats.appended_records += len(payloads)
        self.stats.appended_bytes += framed - len(payloads) * HEADER.size
        self._data.set()
        seq = first
        for item in batch:
            if not item.future.done():
                item.future.set_result(list(range(seq, seq + len(item.payloads))))
            seq += len(item.payloads)

    def _roll(self, first_seq: int) -> _Segment:
        seg = self._create_segment(first_seq)
        fd = os.open(seg.path, os.O_WRONLY | os.O_APPEND)
        os.close(self._fd)
        self._fd = fd
        return seg

    def _write_sync(
        self, start: int, first_seq: int, payloads: list[bytes]
    ) -> tuple[list[int], int]:
        """(thread) Frame, write and fdatasync; on failure cut the file back to ``start``."""
        buf, offsets = bytearray(), []
        for seq, payload in enumerate(payloads, first_seq):
            offsets.append(start + len(buf))
            buf += HEADER.pack(len(payload), _crc(len(payload), seq, payload), seq)
            buf += payload
        try:
            view = memoryview(buf)
            while view:
                view = view[os.write(self._fd, view) :]
            _fdatasync(self._fd)
        except BaseException:
            try:
                os.ftruncate(self._fd, start)
                os.fsync(self._fd)
            except OSError as exc:
                self._broken = exc  # we no longer know what is on disk: stop appending
            raise
        return offsets, start + len(buf)

    # -- reading --------------------------------------------------------------------------------

    def _readable(self) -> bool:
        return self._last_seq >= self._read_seq

    async def _read_some(self, max_items: int, max_bytes: int) -> list[QueueEntry]:
        async with self._io_lock:
            plan = self._plan_read(max_items, max_bytes)
            entries, bad = await asyncio.to_thread(_read_records, plan)
        if plan:
            self._read_seq = max(self._read_seq, plan[-1][1][-1][0] + 1)
        for path, seq in bad:
            self.stats.corrupt_records_skipped += 1
            log.error("queue record %d in %s is corrupt on read-back; skipped", seq, path.name)
        return entries

    def _plan_read(
        self, max_items: int, max_bytes: int
    ) -> list[tuple[Path, list[tuple[int, int, int]]]]:
        """[(segment path, [(seq, start, end), ...]), ...] for the next read."""
        plan, n, total = [], 0, 0
        for seg in self._segments:
            if not seg.seqs or seg.seqs[-1] < self._read_seq:
                continue
            i = bisect.bisect_left(seg.seqs, self._read_seq)
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

    # -- acknowledging --------------------------------------------------------------------------

    async def ack(self, upto_seq: int) -> None:
        """Everything <= ``upto_seq`` is stored: free it, delete fully acked segments, and
        persist the position (lazily, at most every ``ack_persist_interval`` s, and at close)."""
        if upto_seq <= self._ack_seq:
            return
        if upto_seq > self._last_seq:
            raise ValueError(f"ack({upto_seq}) beyond the last appended seq {self._last_seq}")
        records = framed = 0
        for seg in self._segments:
            i0 = bisect.bisect_right(seg.seqs, self._ack_seq)
            i1 = bisect.bisect_right(seg.seqs, upto_seq)
            if i1 > i0:
                records += i1 - i0
                framed += seg.record_end(i1 - 1) - seg.offsets[i0]
            if i1 < len(seg.seqs):
                break
        self._ack_seq = upto_seq
        self._read_seq = max(self._read_seq, upto_seq + 1)
        self._depth -= records
        self._unacked_bytes -= framed
        self._note_ack(records, framed)
        self._ack_wake.set()
        dead: list[_Segment] = []
        while len(self._segments) > 1 and (
            not self._segments[0].seqs or self._segments[0].seqs[-1] <= upto_seq
        ):
            dead.append(self._segments.pop(0))
        if dead:
            async with self._io_lock:  # not under a read in flight
                await asyncio.to_thread(_unlink_all, [seg.path for seg in dead])

    async def _ack_flusher(self) -> None:
        while True:
            await self._ack_wake.wait()
            self._ack_wake.clear()
            try:
                await asyncio.shield(self._persist_ack())
            except OSError as exc:  # replaying acked data is safe; keep going
                log.warning("could not persist the queue ack position: %s", exc)
            await asyncio.sleep(self._ack_interval)

    async def _persist_ack(self) -> None:
        async with self._ack_lock:
            seq = self._ack_seq
            if seq != self._ack_persisted:
                await asyncio.to_thread(self._write_ack, seq)
                self._ack_persisted = seq

    def _write_ack(self, seq: int) -> None:
        text = f"PBQACK1 {seq} {zlib.crc32(str(seq).encode()):08x}\n".encode()
        tmp = self.directory / f"{_ACK_NAME}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, text)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.directory / _ACK_NAME)
        self._fsync_dir()

    # -- state and shutdown ---------------------------------------------------------------------

    def depth(self) -> int:
        return self._depth

    def bytes_used(self) -> int:
        return self._unacked_bytes + self._pending_bytes

    async def close(self) -> None:
        """Finish pending appends, persist the ack position, close files, unlock. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._data.set()
        if self._tasks:
            writer, flusher = self._tasks
            self._wake_writer.set()
            await writer
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            try:
                await self._persist_ack()
            except OSError as exc:
                log.warning("could not persist the queue ack position at close: %s", exc)
        for fd in (self._fd, self._lock_fd):
            if fd >= 0:
                os.close(fd)
        self._fd = self._lock_fd = -1


def _read_records(
    plan: list[tuple[Path, list[tuple[int, int, int]]]],
) -> tuple[list[QueueEntry], list[tuple[Path, int]]]:
    """(thread) One pread per segment; CRC-check every record again."""
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
            length, crc, got = HEADER.unpack_from(data, start)
            payload = data[start + HEADER.size : end]
            if got != seq or length != len(payload) or _crc(length, seq, payload) != crc:
                bad.append((path, seq))
                continue
            entries.append(QueueEntry(seq, payload))
    return entries, bad


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not delete acked queue segment %s: %s", path, exc)


def _count_frames(data: bytes, pos: int) -> int:
    """Best effort: the bad record at ``pos`` plus the intact frames that follow it."""
    count, size = 1, len(data)
    if size - pos < HEADER.size:
        return count
    pos += HEADER.size + HEADER.unpack_from(data, pos)[0]
    while pos + HEADER.size <= size:
        length, crc, seq = HEADER.unpack_from(data, pos)
        end = pos + HEADER.size + length
        if end > size or _crc(length, seq, data[pos + HEADER.size : end]) != crc:
            break
        count, pos = count + 1, end
    return count
