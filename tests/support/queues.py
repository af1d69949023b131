"""Helpers for the queue tests: both implementations, payloads, draining, segment files."""

from __future__ import annotations

import uuid
from pathlib import Path

from pulse.queue import FileQueue, MemoryQueue, NatsOptions, NatsQueue


async def make(
    kind: str, path: Path, nats_url: str | None = None, **kwargs: int
) -> FileQueue | MemoryQueue | NatsQueue:
    """An open queue of ``kind`` ("file" in ``path``, "memory", or "nats": a new stream of its
    own on the server at ``nats_url``)."""
    if kind == "file":
        return await FileQueue.open(path, **kwargs)
    if kind == "nats":
        assert nats_url, "nats needs a server (tests/support/nats_server.py)"
        options = NatsOptions(url=nats_url, stream=f"T{uuid.uuid4().hex[:12]}",
                              max_bytes=kwargs.get("max_bytes", 1 << 30))
        queue = NatsQueue(options)
        await queue.start()
        return queue
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
