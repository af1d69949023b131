"""Process lifetime (issue 11, defect 7): after ``kill -9`` of ``pulse-bridge serve`` no mapping
worker process survives it as an orphan.

A real ``serve`` with two mapping workers on its own database in the local PostgreSQL (an
external database, so no embedded server is left behind by the kill)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import CLI, clean_env, free_port

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (through /proc/<pid>/task/*/children)."""
    out: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                continue
            for k in map(int, kids):
                if k not in out:
                    out.add(k)
                    todo.append(k)
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.fixture
def database_url():
    name = f"pulse_orphans_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_no_mapping_worker_survives_kill_9_of_serve(tmp_path, database_url):
    port = free_port()
    env = clean_env(port)
    env.update(PULSE_DATABASE_URL=database_url, PULSE_MAPPING_WORKERS="2")
    proc = subprocess.Popen([CLI, "--data-dir", str(tmp_path / "data"), "serve"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    workers: set[int] = set()
    try:
        lines: list[str] = []
        for line in proc.stdout:
            lines.append(line)
            if "Pulse Bridge listening on" in line:
                break
        else:
            pytest.fail("server exited:\n" + "".join(lines))
        workers = {p for p in descendants(proc.pid) if "multiprocessing" in cmdline(p)}
        assert len(workers) >= 2, [cmdline(p) for p in descendants(proc.pid)]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 30  # a liveness bound, not a timing claim
        while any(alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = sorted(p for p in workers if alive(p))
        assert survivors == [], f"orphaned workers: {[cmdline(p) for p in survivors]}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        for p in workers:  # the processes this test started, by their id
            if alive(p):
                os.kill(p, signal.SIGKILL)
