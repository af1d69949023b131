"""``pulse-bridge serve`` nodes on the ``nats`` queue backend against one shared database, for the
scale-out fault tests: start a node by role, senders that record exactly what was acknowledged,
and the database oracle (every stored span id, duplicates included)."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import CI, TIMESCALE_SERVER
from tests.factories import span_item
from tests.support.cli import CLI, KEY, clean_env, free_port


def create_database(prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(TIMESCALE_SERVER, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        if CI:
            raise
        pytest.skip(f"no PostgreSQL server at {TIMESCALE_SERVER}: {exc}")
    return TIMESCALE_SERVER.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(TIMESCALE_SERVER, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Node:
    """One ``pulse-bridge serve --role ROLE`` process with ``PULSE_QUEUE_BACKEND=nats``."""

    def __init__(self, role: str, database_url: str, nats_url: str, stream: str,
                 data_dir: Path, *, port: int | None = None, ack_wait_s: int = 3,
                 extra_env: dict[str, str] | None = None) -> None:
        self.role, self.data_dir = role, data_dir
        self.port = port or free_port()
        env = clean_env(self.port)
        env.update({
            "DATABASE_URL": database_url, "PULSE_QUEUE_BACKEND": "nats",
            "PULSE_NATS_URL": nats_url, "PULSE_NATS_STREAM": stream,
            "PULSE_NATS_ACK_WAIT_S": str(ack_wait_s), "PULSE_MAPPING_WORKERS": "0",
            "PULSE_GRPC_ENABLED": "false", "PULSE_WRITER_BATCH_ENTRIES": "50",
        })
        env.update(extra_env or {})
        self.env = env
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [CLI, "--data-dir", str(data_dir), "serve", "--role", role], env=env,
            cwd=data_dir.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._wait_listening()
        self._pump = threading.Thread(target=self._drain_output, daemon=True)
        self._pump.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def key(self) -> str | None:
        found = KEY.search("".join(self.lines))
        return found.group(0) if found else None

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            if "Pulse Bridge listening on" in line:
                return
        self.proc.kill()
        pytest.fail(f"{self.role} node did not start:\n" + "".join(self.lines))

    def _drain_output(self) -> None:  # keep the pipe from filling up
        for line in self.proc.stdout:
            self.lines.append(line)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Sender(threading.Thread):
    """Posts batches of 10 spans to ``/v1/spans/async`` until stopped (or its node dies) and
    records exactly which span ids were acknowledged (202) and every other answer."""

    def __init__(self, url: str, key: str, *, timeout: float = 15) -> None:
        super().__init__(daemon=True)
        self.url, self.key, self.timeout = url, key, timeout
        self.acked: list[str] = []
        self.refused: list[int] = []  # 503s: retry later (counted, allowed)
        self.errors: list[str] = []  # anything else: a failure of the test
        self.retry_after_missing = 0
        self.died = False
        self.halt = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.url, timeout=self.timeout) as http:
            for _ in range(5000):  # bounded
                if self.halt.is_set():
                    return
                batch = [span_item(session_id="nats") for _ in range(10)]
                try:
                    r = http.post("/v1/spans/async", json=batch, headers=headers)
                except httpx.TimeoutException:
                    self.errors.append("timeout: the server hung")
                    return
                except httpx.TransportError:
                    self.died = True  # the node died under us: never acknowledged
                    return
                if r.status_code == 202:
                    self.acked.extend(item["span_id"] for item in batch)
                elif r.status_code == 503:
                    self.refused.append(r.status_code)
                    if not r.headers.get("retry-after") or "error" not in r.json():
                        self.retry_after_missing += 1
                    time.sleep(0.05)
                else:
                    self.errors.append(f"{r.status_code} {r.text[:200]}")

    def stop(self) -> None:
        self.halt.set()
        self.join(60)


def stored_span_ids(database_url: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        return [str(r[0]) for r in conn.execute("SELECT span_id FROM pulse.spans").fetchall()]


def wait_stored(database_url: str, acked: set[str], timeout: float = 90) -> list[str]:
    """Every stored span id once the acknowledged ones are all there (or the timeout)."""
    deadline, seen = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        seen = stored_span_ids(database_url)
        if acked <= set(seen):
            break
        time.sleep(0.25)
    return seen


def wait_until(predicate, timeout: float = 30, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False
