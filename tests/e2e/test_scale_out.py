"""Scale-out (issue 4): two ``pulse-bridge serve`` processes with separate data directories
against one database, started at the same moment, work side by side; ``--role`` splits the
query API from ingest.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
import uuid

import httpx
import psycopg
import pytest

from tests.conftest import CI, TIMESCALE_SERVER
from tests.factories import span_item, trace_item
from tests.support.cli import CLI, KEY, clean_env, free_port


@pytest.fixture
def shared_database():
    name = f"pulse_scale_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(TIMESCALE_SERVER, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        if CI:
            raise
        pytest.skip(f"no PostgreSQL server at {TIMESCALE_SERVER}: {exc}")
    yield TIMESCALE_SERVER.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(TIMESCALE_SERVER, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start(database_url: str, data_dir, *extra: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = clean_env(port)
    env["DATABASE_URL"] = database_url
    proc = subprocess.Popen([CLI, "--data-dir", str(data_dir), "serve", *extra], env=env,
                            cwd=data_dir.parent, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    return proc, port


def wait_listening(proc: subprocess.Popen) -> str:
    out, deadline = "", time.monotonic() + 90
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        out += line
        if "Pulse Bridge listening on" in line:
            return out
    proc.kill()
    pytest.fail("server did not start:\n" + out)


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, rest
    return rest


def eventually_total(url: str, path: str, headers: dict, expected: int) -> int:
    deadline, total = time.monotonic() + 20, -1
    while time.monotonic() < deadline:
        total = httpx.get(url + path, params={"limit": 1}, headers=headers).json()["total"]
        if total >= expected:
            break
        time.sleep(0.1)
    return total


def test_two_instances_share_one_database(shared_database, tmp_path):
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir()
    b_dir.mkdir()
    a, a_port = start(shared_database, a_dir)
    b, b_port = start(shared_database, b_dir)  # both migrate and seed at the same moment
    try:
        outputs = [wait_listening(a), wait_listening(b)]
        keys = [k for out in outputs for k in KEY.findall(out)]
        assert len(keys) == 1, "exactly one instance creates the default project"
        headers = {"Authorization": f"Bearer {keys[0]}"}
        urls = [f"http://127.0.0.1:{a_port}", f"http://127.0.0.1:{b_port}"]
        sent = []
        for i in range(20):
            items = [trace_item(session_id="shared") for _ in range(5)]
            r = httpx.post(urls[i % 2] + "/v1/traces/async", json=items, headers=headers)
            assert r.status_code == 202, r.text
            sent += [t["trace_id"] for t in items]
        # a redelivery through the other instance is still one row
        again = httpx.post(urls[1] + "/v1/traces/batch", json=[trace_item(trace_id=sent[0])],
                           headers=headers)
        assert again.status_code == 202
        for url in urls:
            assert eventually_total(url, "/v1/traces", headers, len(sent)) == len(sent)
    finally:
        stop(a)
        stop(b)
    with psycopg.connect(shared_database) as conn:
        assert conn.execute("SELECT count(*) FROM pulse.projects").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM public.pulse_schema_migrations"
                            " GROUP BY version HAVING count(*) > 1").fetchall() == []


def test_roles_split_query_api_and_ingest(shared_database, tmp_path):
    ingest_dir, api_dir = tmp_path / "ingest", tmp_path / "api"
    ingest_dir.mkdir()
    api_dir.mkdir()
    ingest, ingest_port = start(shared_database, ingest_dir, "--role", "ingest")
    key = KEY.search(wait_listening(ingest)).group(0)
    api, api_port = start(shared_database, api_dir, "--role", "api")
    wait_listening(api)
    headers = {"Authorization": f"Bearer {key}"}
    ingest_url, api_url = f"http://127.0.0.1:{ingest_port}", f"http://127.0.0.1:{api_port}"
    try:
        span = span_item()
        assert httpx.post(ingest_url + "/v1/spans/async", json=[span],
                          headers=headers).status_code == 202
        assert eventually_total(api_url, "/v1/spans", headers, 1) == 1
        # each role serves only its half
        assert httpx.post(api_url + "/v1/spans/async", json=[span_item()],
                          headers=headers).status_code in (404, 405)
        assert httpx.get(ingest_url + "/v1/spans", headers=headers).status_code in (404, 405)
        assert httpx.get(api_url + "/health").status_code == 200
    finally:
        stop(ingest)
        stop(api)


def test_keys_cli_against_external_database(shared_database, tmp_path):
    env = clean_env(free_port())
    env["DATABASE_URL"] = shared_database
    data_dir = tmp_path / "data"
    out = subprocess.run([CLI, "--data-dir", str(data_dir), "projects", "create", "Ext"],
                         env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert re.search(r"project_id:\s+\S+", out.stdout) and KEY.search(out.stdout)
    assert not data_dir.exists(), "with DATABASE_URL no embedded database is started"
    with psycopg.connect(shared_database) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM pulse.projects").fetchall()]
    assert names == ["Ext"]
