"""FileQueue append throughput and latency (prints figures; never asserted in tests).

    python bench/queue_bench.py [--dir DIR] [--seconds 3] [--payload 1536] [--concurrency 1,16,64]

Each round opens a fresh queue in a temporary directory under --dir (put it on the disk the
service's data dir lives on: fsync cost is the whole story), runs N appenders in a loop for
--seconds while one drainer reads and acks (as the writer loop would), then prints appends/s,
p50/p99 append latency and how many records each fsync carried (group commit).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulse.queue import FileQueue


async def appender(q: FileQueue, payload: bytes, stop: float, latencies: list[float]) -> None:
    while time.perf_counter() < stop:
        started = time.perf_counter()
        await q.append(payload)
        latencies.append(time.perf_counter() - started)


async def drainer(q: FileQueue, stop: float) -> None:
    while time.perf_counter() < stop:
        batch = await q.read(1000, 4 << 20, timeout=0.05)
        if batch:
            await q.ack(batch[-1].seq)


async def run(directory: Path, concurrency: int, seconds: float, size: int) -> str:
    payload = b"x" * size
    latencies: list[float] = []
    async with FileQueue(directory, max_bytes=4 << 30) as q:
        started = time.perf_counter()
        stop = started + seconds
        tasks = [appender(q, payload, stop, latencies) for _ in range(concurrency)]
        await asyncio.gather(drainer(q, stop + 1), *tasks)
        elapsed = time.perf_counter() - started
        fsyncs, records = q.group_commit.fsyncs, q.group_commit.records
    qs = statistics.quantiles(latencies, n=100, method="inclusive")
    return (
        f"{concurrency:>4} appenders: {records / elapsed:>9,.0f} appends/s  "
        f"p50 {qs[49] * 1e3:6.2f} ms  p99 {qs[98] * 1e3:6.2f} ms  "
        f"{fsyncs / elapsed:7,.0f} fsyncs/s  {records / max(fsyncs, 1):6.1f} records/fsync"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=None, help="parent directory (default: system temp)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--payload", type=int, default=1536, help="payload bytes (1.5 KB)")
    parser.add_argument("--concurrency", default="1,16,64")
    args = parser.parse_args()
    version = sys.version.split()[0]
    print(f"FileQueue, {args.payload} B payloads, {args.seconds:g} s per round, python {version}")
    for n in (int(c) for c in args.concurrency.split(",")):
        with tempfile.TemporaryDirectory(prefix="pulse-queue-bench-", dir=args.dir) as tmp:
            print(asyncio.run(run(Path(tmp), n, args.seconds, args.payload)), flush=True)


if __name__ == "__main__":
    main()
