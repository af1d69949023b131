"""Composition root: builds every long-lived component in one ``AsyncExitStack`` (DESIGN.md
habit 6) and wires the layers together by passing callables (habit 1). Nothing imports this module
but ``cli``.

Start order: database (embedded or external) -> migrations -> pool -> default project -> ingest
path -> HTTP app. Shutdown runs the stack backwards: stop serving, close the pool, stop the
embedded PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TextIO
from uuid import UUID

import uvicorn
from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool

from pulse.api.app import create_app
from pulse.api.deps import Services, make_authenticator
from pulse.collector.http import BodyLimits, native_router
from pulse.collector.ingest import Ingestor
from pulse.config import Settings
from pulse.storage import accounts, queries, writer
from pulse.storage.db import EmbeddedPostgres, describe_url, ensure_database, open_pool
from pulse.storage.migrate import MigrationReport, migrate

log = logging.getLogger("pulse")


@dataclass
class Database:
    url: str
    pool: AsyncConnectionPool
    migrations: MigrationReport


@contextlib.asynccontextmanager
async def open_database(
    settings: Settings, *, run_migrations: bool = True
) -> AsyncIterator[Database]:
    """The configured database, migrated, with an open pool (embedded server started if needed)."""
    async with contextlib.AsyncExitStack() as stack:
        if settings.embedded:
            url = await stack.enter_async_context(EmbeddedPostgres(settings.pg_data_dir))
        else:
            url = settings.database_url
            await asyncio.to_thread(ensure_database, url)
        report = MigrationReport([], False, None)
        if run_migrations:
            report = await asyncio.to_thread(migrate, url, settings.timescaledb)
        pool = open_pool(url, settings.db_pool_size)
        await pool.open(wait=True, timeout=30)
        stack.push_async_callback(pool.close)
        yield Database(url, pool, report)


async def read_back(
    pool: AsyncConnectionPool, project_id: UUID, kind: str, ids: list[UUID]
) -> dict[UUID, str]:
    if kind == "traces":
        return await queries.get_traces(pool, project_id, ids)
    return await queries.get_spans(pool, project_id, ids)


def build_app(settings: Settings, pool: AsyncConnectionPool) -> FastAPI:
    """The full HTTP application over an open pool (used by ``serve`` and by the tests)."""
    authenticate = make_authenticator(pool)
    ingestor = Ingestor(lambda items: writer.write_records(pool, items))
    limits = BodyLimits(settings.max_request_body_bytes, settings.max_decompressed_bytes)

    async def database_ready() -> str | None:
        try:
            await queries.ping(pool)
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", with its reason
            return f"database: {exc.__class__.__name__}"
        return None

    svc = Services(pool=pool, readiness=[database_ready])
    ingest_routes = native_router(
        ingestor, authenticate, lambda p, k, i: read_back(pool, p, k, i), limits
    )
    app = create_app(svc, authenticate, [ingest_routes])
    app.state.ingestor = ingestor
    return app


class _Server(uvicorn.Server):
    """uvicorn, minus its habit of re-raising SIGINT/SIGTERM after shutdown: that would kill the
    process before the exit stack stops the writer, closes the pool and stops the embedded
    PostgreSQL. Signals only ask the server to exit; the stack then unwinds normally."""

    @contextlib.contextmanager
    def capture_signals(self):
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


def announce_key(key: accounts.NewKey, out: TextIO = sys.stdout) -> None:
    print(
        f'\nCreated project "Default" ({key.project_id}).\n'
        f"Its API key, shown only this once - store it now:\n\n    {key.key}\n",
        file=out,
        flush=True,
    )


async def serve(settings: Settings) -> None:
    async with open_database(settings) as db:
        log.info(
            "database %s (%s)",
            describe_url(db.url),
            f"TimescaleDB {db.migrations.timescaledb_version}"
            if db.migrations.timescaledb
            else "plain PostgreSQL",
        )
        if settings.create_default_project:
            key = await accounts.ensure_default_project(db.pool)
            if key is not None:
                announce_key(key)
        app = build_app(settings, db.pool)
        config = uvicorn.Config(
            app,
            host=settings.http_host,
            port=settings.http_port,
            log_level=settings.log_level,
            access_log=settings.log_level == "debug",
            lifespan="off",
            timeout_graceful_shutdown=10,
            server_header=False,
        )
        server = _Server(config)
        print(
            f"Pulse Bridge listening on http://{settings.http_host}:{settings.http_port}",
            flush=True,
        )
        await server.serve()
