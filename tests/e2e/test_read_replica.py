"""``PULSE_READ_DATABASE_URL`` (issue 14): the query API reads from a PostgreSQL streaming
replica. The test starts its own primary (initdb) and a replica (``pg_basebackup -R``) on free
loopback ports, as the ``postgres`` user when run as root. To prove where reads go, it pauses
WAL replay on the replica: spans committed on the primary afterwards stay invisible to the API
until replay resumes."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import CI
from tests.factories import span_item
from tests.support.cli import CLI, KEY, clean_env, free_port
from tests.support.nats_nodes import wait_until

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(*cmd: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)


def _run(*cmd: str) -> None:
    done = subprocess.run(_as_postgres(*cmd), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


class Cluster:
    def __init__(self, root: Path, name: str) -> None:
        self.dir, self.port = root / name, free_port()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/pulse"

    def start(self) -> None:
        _run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-l", f"{self.dir}.log", "-w",
             "-o", f"-p {self.port} -k {self.dir.parent} -c listen_addresses=127.0.0.1",
             "start")

    def stop(self) -> None:
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-m", "fast",
                                    "-w", "stop"), capture_output=True, timeout=60)


@pytest.fixture
def primary_and_replica() -> Iterator[tuple[Cluster, Cluster]]:
    if not (PG_BIN / "initdb").exists():
        if CI:
            pytest.fail(f"PostgreSQL 15 binaries not found in {PG_BIN}")
        pytest.skip("PostgreSQL 15 binaries are not installed")
    root = Path(tempfile.mkdtemp(prefix="pulse-replica-"))  # not under root's 0700 tmp
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    primary, replica = Cluster(root, "primary"), Cluster(root, "replica")
    try:
        _run(str(PG_BIN / "initdb"), "-D", str(primary.dir), "-A", "trust", "-U", "postgres")
        primary.start()
        with psycopg.connect(primary.url.replace("/pulse", "/postgres"), autocommit=True) as c:
            c.execute("CREATE DATABASE pulse")  # before the base backup: the replica has it
        _run(str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
             "-U", "postgres", "-D", str(replica.dir), "-R", "-X", "stream")
        replica.start()
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()
        shutil.rmtree(root, ignore_errors=True)


def _total(url: str, headers: dict) -> int:
    return httpx.get(url + "/v1/spans", params={"limit": 1}, headers=headers).json()["total"]


def _serve(env: dict, tmp_path: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([CLI, "--data-dir", str(tmp_path / "data"), "serve"], env=env,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines: list[str] = []
    while not any("listening on http" in line for line in lines):
        line = proc.stdout.readline()
        if not line:
            pytest.fail("server exited:\n" + "".join(lines))
        lines.append(line)
    return proc, "".join(lines)


def test_the_query_api_reads_from_the_replica(primary_and_replica, tmp_path):
    primary, replica = primary_and_replica
    port = free_port()
    env = clean_env(port)
    env.update({"DATABASE_URL": primary.url, "PULSE_READ_DATABASE_URL": replica.url,
                "PULSE_GRPC_ENABLED": "false", "PULSE_MAPPING_WORKERS": "0"})
    proc, out = _serve(env, tmp_path)
    try:
        headers = {"Authorization": f"Bearer {KEY.search(out).group(0)}"}
        url = f"http://127.0.0.1:{port}"
        first = [span_item(session_id="replica") for _ in range(30)]
        assert httpx.post(url + "/v1/spans/batch", json=first, headers=headers).status_code == 202
        assert wait_until(lambda: _total(url, headers) == 30, 30)

        with psycopg.connect(replica.url, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
            assert wait_until(lambda: conn.execute(
                "SELECT pg_get_wal_replay_pause_state()").fetchone()[0] == "paused", 10)
            second = [span_item(session_id="replica") for _ in range(20)]
            r = httpx.post(url + "/v1/spans/batch", json=second, headers=headers)
            assert r.status_code == 202
            with psycopg.connect(primary.url) as on_primary:
                assert on_primary.execute("SELECT count(*) FROM pulse.spans").fetchone()[0] == 50
            time.sleep(0.5)
            assert _total(url, headers) == 30, "the API did not read from the replica"
            conn.execute("SELECT pg_wal_replay_resume()")
        assert wait_until(lambda: _total(url, headers) == 50, 30)
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
