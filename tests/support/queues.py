"""Helpers for the queue tests: both implementations, payloads, draining, segment files."""

from __future__ import annotations

from pathlib import Path

from pulse.queue import FileQueue, MemoryQueue


async def make(kind: str, path: Path, **kwargs: int) -> FileQueue | MemoryQueue:
    """An open queue of ``kind`` ("file" in ``path``, or "memory")."""
    if kind == "file":
        return await FileQueue.open(path, **kwargs)
    kwargs.pop("segment_bytes", None)
    return await MemoryQueue.open(**kwargs)


def payload(i: int, size: int = 100) -> bytes:
    return f"{i:08d}".encode().ljust(size, b".")


def segment_files(path: Path) -> list[Path]:
    return sorted(path.glob("queue-*.seg"))


async def drain(q: FileQueue | MemoryQueue) -> list[tuple[int, bytes]]:
    """Everything readable now, as (seq, payload) pairs."""
    out = []
    while entries := await q.read(1000, 1 << 30, timeout=0):
        out.extend(entries)
    return [tuple(e) for e in out]
