"""The file queue's durability (docs/architecture.md §Ingest path): restart and replay,
segment deletion, group commit, recovery from torn and corrupted segments, the directory lock,
and kill -9 in the middle of appends and acks. Real files in tmp_path, real processes."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pulse.queue import HEADER, FileQueue, QueueLocked
from tests.support.queues import drain, payload, segment_files

ROOT = Path(__file__).resolve().parents[2]


# -- durability and recovery (FileQueue) ---------------------------------------------------------


@pytest.mark.asyncio
async def test_restart_replays_exactly_the_unacked_entries(tmp_path: Path) -> None:
    q = await FileQueue.open(tmp_path, segment_bytes=1024)
    await q.append_many([payload(i) for i in range(30)])
    await q.read(10, 1 << 20, timeout=0)
    await q.ack(7)
    await q.close()
    q = await FileQueue.open(tmp_path, segment_bytes=1024)
    assert q.depth() == 23 and q.bytes_used() == 23 * (HEADER.size + 100)
    assert await drain(q) == [(s, payload(s - 1)) for s in range(8, 31)]
    assert await q.append(b"after") == 31
    await q.ack(31)
    await q.close()
    q = await FileQueue.open(tmp_path, segment_bytes=1024)
    assert await drain(q) == [] and q.depth() == 0
    assert await q.append(b"later") == 32  # seqs never go back, even with every segment acked
    await q.close()


@pytest.mark.asyncio
async def test_fully_acked_segments_are_deleted(tmp_path: Path) -> None:
    frame = HEADER.size + 100
    q = await FileQueue.open(tmp_path, segment_bytes=5 * frame)
    for i in range(20):  # separate appends: 4 segments of 5 records
        await q.append(payload(i))
    assert len(segment_files(tmp_path)) == 4
    await q.ack(7)  # segment 1 (seqs 1-5) is done, segment 2 (6-10) is not
    names = [p.name for p in segment_files(tmp_path)]
    assert names == [f"queue-{s:020d}.seg" for s in (6, 11, 16)]
    await q.ack(20)  # the active segment stays, it is appended to next
    assert [p.name for p in segment_files(tmp_path)] == ["queue-00000000000000000016.seg"]
    assert await q.append(payload(20)) == 21
    assert len(segment_files(tmp_path)) == 2
    await q.close()


@pytest.mark.asyncio
async def test_group_commit_shares_fsyncs(tmp_path: Path) -> None:
    q = await FileQueue.open(tmp_path)
    seqs = await asyncio.gather(*(q.append(payload(i, 1500)) for i in range(200)))
    assert sorted(seqs) == list(range(1, 201))
    assert q.group_commit.records == 200
    assert q.group_commit.fsyncs <= 20, q.group_commit.fsyncs  # typically 2: first, then the rest
    entries = await drain(q)
    assert sorted(entries) == sorted(zip(seqs, [payload(i, 1500) for i in range(200)], strict=True))
    await q.close()


@pytest.mark.asyncio
async def test_cancelled_appends_keep_the_accounting_consistent(tmp_path: Path) -> None:
    q = await FileQueue.open(tmp_path, max_bytes=50 * (HEADER.size + 100))
    tasks = [asyncio.create_task(q.append(payload(i))) for i in range(40)]
    await asyncio.sleep(0)
    for task in tasks[::2]:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    done = [r for r in results if isinstance(r, int)]
    assert 20 <= len(done) < 40
    entries = await drain(q)
    assert set(done) <= {s for s, _ in entries}  # every acknowledged append is there
    assert q.depth() == len(entries)
    assert q.bytes_used() == len(entries) * (HEADER.size + 100)  # nothing leaked in the bound
    await q.ack(entries[-1][0])
    assert q.bytes_used() == 0
    await q.close()


def _overwrite(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def _corrupt_last_record(path: Path, how: str) -> None:
    seg = segment_files(path)[-1]
    size = seg.stat().st_size
    if how == "truncate":
        os.truncate(seg, size - 37)  # cut the last record mid-payload
    elif how == "flip":
        with open(seg, "r+b") as f:
            f.seek(size - 10)
            byte = f.read(1)
            f.seek(size - 10)
            f.write(bytes([byte[0] ^ 0xFF]))
    elif how == "bad-length":
        with open(seg, "r+b") as f:  # the last header claims a huge payload
            f.seek(size - HEADER.size - 100)
            f.write(b"\xff\xff\xff\x7f")
    else:  # a torn header: a few bytes of the next record
        with open(seg, "ab") as f:
            f.write(b"\x07\x00\x00")


@pytest.mark.asyncio
@pytest.mark.parametrize("how", ["truncate", "flip", "bad-length", "partial-header"])
async def test_corrupt_tail_is_cut_on_reopen(
    how: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    q = await FileQueue.open(tmp_path)
    await q.append_many([payload(i) for i in range(10)])
    await q.close()
    _corrupt_last_record(tmp_path, how)
    with caplog.at_level(logging.WARNING, logger="pulse.queue"):
        q = await FileQueue.open(tmp_path)
    lost = 0 if how == "partial-header" else 1
    assert q.recovered.truncated_records == 1
    assert q.recovered.truncated_bytes > 0
    assert any("dropped" in r.getMessage() for r in caplog.records if r.name == "pulse.queue")
    survivors = [(s, payload(s - 1)) for s in range(1, 11 - lost)]
    assert await drain(q) == survivors
    assert segment_files(tmp_path)[-1].stat().st_size == (10 - lost) * (HEADER.size + 100)
    new_seq = await q.append(b"after")  # appends continue after the last good record
    await q.close()
    q = await FileQueue.open(tmp_path)
    assert q.recovered.truncated_records == 0
    assert await drain(q) == [*survivors, (new_seq, b"after")]
    await q.close()


@pytest.mark.asyncio
async def test_corruption_mid_segment_stops_that_segment_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frame = HEADER.size + 100
    q = await FileQueue.open(tmp_path, segment_bytes=5 * frame)
    for i in range(15):
        await q.append(payload(i))
    await q.close()
    _overwrite(segment_files(tmp_path)[0], frame + HEADER.size + 3, b"XX")  # record 2 of 5
    with caplog.at_level(logging.WARNING, logger="pulse.queue"):
        q = await FileQueue.open(tmp_path, segment_bytes=5 * frame)
    assert q.recovered.truncated_records == 4  # the bad record and the 3 intact ones after it
    assert "CRC mismatch" in caplog.text
    assert [s for s, _ in await drain(q)] == [1, *range(6, 16)]
    await q.close()


@pytest.mark.asyncio
async def test_second_open_of_a_directory_is_refused(tmp_path: Path) -> None:
    q = await FileQueue.open(tmp_path)
    with pytest.raises(QueueLocked, match="already in use"):
        await FileQueue.open(tmp_path)
    await q.close()
    q2 = await FileQueue.open(tmp_path)  # the lock goes with close
    await q2.close()


@pytest.mark.asyncio
async def test_unreadable_ack_file_replays_everything(tmp_path: Path) -> None:
    q = await FileQueue.open(tmp_path)
    await q.append_many([b"a", b"b", b"c"])
    await q.ack(2)
    await q.close()
    assert (tmp_path / "ack.pos").read_text().startswith("PBQACK1 2 ")
    (tmp_path / "ack.pos").write_text("garbage")
    q = await FileQueue.open(tmp_path)
    assert await drain(q) == [(1, b"a"), (2, b"b"), (3, b"c")]  # replay is safe, loss is not
    await q.close()


def _run_and_kill(directory: Path, rng: random.Random) -> list[str]:
    """Run CHILD, SIGKILL it after a random number of output lines; all the lines it wrote."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(directory), str(ROOT)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    target, deadline = rng.randint(30, 3000), time.monotonic() + 10
    while len(lines) < target and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
    proc.kill()  # SIGKILL at an arbitrary point of the append/ack traffic
    proc.wait(5)
    lines.extend(proc.stdout.read().splitlines(keepends=True))
    proc.stdout.close()
    return lines


CHILD = r"""
import asyncio, sys
sys.path.insert(0, sys.argv[2])
from pulse.queue import FileQueue

async def appender(q, w):
    i = 0
    while True:
        name = f"{w}-{i}"
        seq = await q.append(name.encode() * 40)
        sys.stdout.write(f"P {seq} {name}\n")
        sys.stdout.flush()
        i += 1

async def acker(q):
    while True:  # acks lag one batch behind, so there is always un-acked data to replay
        batch = await q.read(50, 1 << 20, timeout=1)
        if batch and batch[0].seq > 1:
            # announce BEFORE acking: ack() may delete fully acked segments before it returns,
            # so a kill right after it would otherwise hide an ack that took effect
            sys.stdout.write(f"A {batch[0].seq - 1}\n")
            sys.stdout.flush()
            await q.ack(batch[0].seq - 1)
        await asyncio.sleep(0.01)

async def main():
    q = await FileQueue.open(sys.argv[1], segment_bytes=16384, ack_persist_interval=0.01)
    await asyncio.gather(acker(q), *(appender(q, w) for w in range(8)))

asyncio.run(main())
"""


@pytest.mark.asyncio
@pytest.mark.parametrize("run", range(5))
async def test_kill_9_loses_no_acknowledged_append(run: int, tmp_path: Path) -> None:
    directory = tmp_path / "q"
    lines = _run_and_kill(directory, random.Random(run))
    appended = {}
    max_ack = 0
    for line in lines:
        if not line.endswith("\n"):
            continue
        kind, seq, *rest = line.split()
        if kind == "P":
            appended[int(seq)] = rest[0].encode() * 40
        else:
            max_ack = max(max_ack, int(seq))
    assert len(appended) >= 20, lines[-3:]
    q = await FileQueue.open(directory, segment_bytes=16384)
    entries = await drain(q)
    await q.close()
    seqs = [s for s, _ in entries]
    assert seqs == sorted(set(seqs))  # in order, each once
    present = dict(entries)
    must_have = {s: p for s, p in appended.items() if s > max_ack}
    assert must_have  # acks lag behind appends: there is acknowledged, un-acked data
    missing = [s for s in must_have if present.get(s) != must_have[s]]
    assert not missing, f"acknowledged but lost: {missing[:10]}"
    for s, p in present.items():  # anything replayed is what was appended
        if s in appended:
            assert appended[s] == p


