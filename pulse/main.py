"""Composition root: builds every long-lived component in one ``AsyncExitStack``
(docs/architecture.md §Start-up and shutdown) and wires the layers together by passing callables
(docs/architecture.md §Habits, 1). Nothing imports this module but ``cli`` (and the tests, which
build the same pieces).

Start order: database (embedded or external) -> migrations -> pool -> default project -> ingest
pipeline (disk queue, mapping workers, writer loop) -> gRPC receiver -> HTTP app. Shutdown runs
the stack backwards (see ``serve``): stop accepting (HTTP, then gRPC), drain the writer loop
within the deadline, close the mapping workers and the queue, the pool, the embedded PostgreSQL.

Roles (``PULSE_ROLE``): ``all`` (default) runs everything; ``ingest`` runs the receivers and the
pipeline without the query routes (with the ``file`` queue also the writer loop; with ``nats``
only the publishing side, so it keeps no local state); ``writer`` runs only the writer loop on
the shared ``nats`` stream; ``api`` runs the query routes only (no pipeline at all), on the read
replica when ``PULSE_READ_DATABASE_URL`` is set (docs/architecture.md#deployment).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TextIO
from uuid import UUID

import uvicorn
import yaml
from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool

from pulse import mapping
from pulse.api.app import create_app
from pulse.api.deps import KeyAuthenticator, Services, make_authenticator
from pulse.api.security import AuthOptions
from pulse.config import Settings
from pulse.errors import ConfigError
from pulse.pipeline import CONTENT_TYPE, IngestMetrics, Ingestor, Mapper, Store, WriterLoop
from pulse.queue import FileQueue, IngestQueue, NatsOptions, NatsQueue
from pulse.receivers.body import BodyLimits
from pulse.receivers.inflight import InflightLimit
from pulse.receivers.native import native_router
from pulse.receivers.otlp_grpc import GrpcReceiver
from pulse.receivers.otlp_http import otlp_router
from pulse.storage import accounts, metric_points, prices, queries, writer
from pulse.storage.db import (
    EmbeddedPostgres,
    describe_url,
    ensure_database,
    open_pool,
    open_read_pool,
)
from pulse.storage.migrate import MigrationReport, migrate
from pulse.storage.retention import RetentionJob

log = logging.getLogger("pulse")


@dataclass
class Database:
    url: str
    pool: AsyncConnectionPool
    migrations: MigrationReport
    read_pool: AsyncConnectionPool | None = None  # PULSE_READ_DATABASE_URL, for read routes


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
        read_pool = None
        if settings.read_database_url and settings.role in ("all", "api"):
            read_pool = open_read_pool(settings.read_database_url, settings.db_pool_size)
            try:
                await read_pool.open(wait=True, timeout=30)
            except Exception as exc:  # noqa: BLE001 - psycopg_pool raises PoolTimeout
                await read_pool.close()
                raise ConfigError(
                    "Cannot connect to PULSE_READ_DATABASE_URL "
                    f"{describe_url(settings.read_database_url)} ({exc.__class__.__name__})"
                ) from exc
            stack.push_async_callback(read_pool.close)
        yield Database(url, pool, report, read_pool)


@dataclass
class Pipeline:
    """The ingest path: the Ingestor every receiver calls, and what sits behind it (all None
    for the ``api`` role, which ingests nothing; ``metrics`` still serves ``GET /metrics``)."""

    metrics: IngestMetrics
    ingestor: Ingestor | None = None
    queue: IngestQueue | None = None
    writer: WriterLoop | None = None


def storage_functions(pool: AsyncConnectionPool) -> Store:
    """The storage functions the pipeline writes through (it never imports ``storage``)."""
    return Store(
        # record assembly: the pure merge (mapping) handed to storage, which never imports it
        write_records=partial(writer.write_records, pool, merge=mapping.merge_trace_rows),
        write_points=partial(metric_points.write_metric_points, pool),
        write_dead_letters=partial(writer.write_dead_letters, pool),
        ping=partial(queries.ping, pool),
    )


def nats_options(settings: Settings) -> NatsOptions:
    return NatsOptions(
        url=settings.nats_url, stream=settings.nats_stream, replicas=settings.nats_replicas,
        max_bytes=settings.nats_max_bytes, max_age_s=settings.nats_max_age_s,
        ack_wait_s=settings.nats_ack_wait_s,
    )


def make_queue(settings: Settings, store: Store, queue_dir: Path | None) -> IngestQueue:
    """The configured backend: the local file queue, or the shared NATS stream (a writer joins
    its consumer and dead-letters poison entries; an ingest-only node only publishes)."""
    if settings.queue_backend == "file":
        if settings.role == "writer":
            raise ConfigError("Invalid setting PULSE_ROLE: writer needs PULSE_QUEUE_BACKEND=nats"
                              " (the file queue is drained by the node that owns it)")
        return FileQueue(queue_dir or settings.queue_dir, max_bytes=settings.queue_max_bytes)

    async def dead_letter(payload: bytes, reason: str) -> None:
        await store.write_dead_letters([(None, "entry", payload.decode("utf-8", "replace"),
                                         reason)])

    return NatsQueue(nats_options(settings), consume=settings.role != "ingest",
                     on_poison=dead_letter, name=f"pulse-bridge {settings.role}")


@contextlib.asynccontextmanager
async def ingest_pipeline(
    settings: Settings, pool: AsyncConnectionPool, queue_dir: Path | None = None
) -> AsyncIterator[Pipeline]:
    """Queue, mapping workers and writer loop behind the Ingestor, as the role needs them: all
    (everything), ingest (no writer loop on nats), writer (the writer loop only), api (none)."""
    metrics = IngestMetrics()
    if settings.role == "api":
        yield Pipeline(metrics)
        return
    store = storage_functions(pool)
    queue = make_queue(settings, store, queue_dir)
    receives = settings.role != "writer"
    writes = settings.role != "ingest" or settings.queue_backend == "file"
    mapper = Mapper(settings.mapping_worker_count if receives else 0,
                    keep_generic=settings.keep_generic_spans, model_aliases=settings.model_aliases)
    loop = WriterLoop(
        queue, store, metrics,
        batch_entries=settings.writer_batch_entries,
        linger_s=settings.writer_linger_ms / 1000,
        shutdown_timeout_s=settings.shutdown_timeout_s,
        max_attempts=settings.writer_max_attempts,
    )
    # Shutdown order, by the order of entry: the writer loop exits first and drains the queue
    # (within shutdown_timeout_s; the rest stays queued for the next start), then the mapping
    # workers stop, then the queue persists its ack position (or gives back what it holds to
    # the NATS stream) and closes.
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(queue)
        await stack.enter_async_context(mapper)
        if writes:
            await stack.enter_async_context(loop)
        metrics.track_queue(queue.depth, queue.bytes_used, queue.max_bytes)
        metrics.track_writer(loop.stalled_seconds)
        if isinstance(queue, NatsQueue):
            metrics.track_stream(lambda: queue.state)
            if receives and queue.max_payload < settings.max_request_body_bytes:
                log.warning(
                    "NATS accepts messages of at most %d bytes (its max_payload): larger ingest"
                    " requests get 413; raise max_payload in the nats-server configuration (up"
                    " to 64 MiB) to accept PULSE_MAX_REQUEST_BODY_BYTES (%d)",
                    queue.max_payload, settings.max_request_body_bytes)
        ingestor = Ingestor(queue, mapper, store, metrics) if receives else None
        yield Pipeline(metrics, ingestor, queue, loop if writes else None)


async def read_back(
    pool: AsyncConnectionPool, project_id: UUID, kind: str, ids: list[UUID]
) -> dict[UUID, str]:
    if kind == "traces":
        return await queries.get_traces(pool, project_id, ids)
    return await queries.get_spans(pool, project_id, ids)


def _readiness(pool: AsyncConnectionPool, pipeline: Pipeline, stall_s: float):
    async def database() -> str | None:
        try:
            await queries.ping(pool)
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", with its reason
            return f"database: {exc.__class__.__name__}"
        return None

    async def queue() -> str | None:
        q = pipeline.queue
        if isinstance(q, NatsQueue) and not q.connected:
            return f"NATS: not connected to {q.options.url}"
        if q is not None and q.bytes_used() >= 0.95 * q.max_bytes:
            return f"ingest queue: full ({q.bytes_used()} of {q.max_bytes} bytes)"
        return None

    async def writer() -> str | None:
        # a writer that cannot commit while data waits: ingest is acknowledged but not stored
        w, q = pipeline.writer, pipeline.queue
        if w is None or q is None or not q.depth():
            return None
        stalled = w.stalled_seconds()
        if stalled >= stall_s:
            return (f"writer: no commit for {stalled:.0f} s with {q.depth()} entries queued"
                    f" (PULSE_WRITER_STALL_S={stall_s:g})")
        return None

    return [database, queue, writer]


def _queue_state(pipeline: Pipeline) -> dict[str, object] | None:
    """The ingest queue as /health/ready shows it (the same figures as /metrics)."""
    q = pipeline.queue
    if q is None:
        return None
    state: dict[str, object] = {"entries": q.depth(), "bytes": q.bytes_used(),
                                "maxBytes": q.max_bytes}
    if isinstance(q, NatsQueue):
        s = q.state
        return {"backend": "nats", "connected": q.connected, **state,
                "consumerPending": s.consumer_pending, "ackPending": s.consumer_ack_pending,
                "redelivered": s.redelivered}
    return {"backend": "file", **state}


def build_app(
    settings: Settings, pool: AsyncConnectionPool, pipeline: Pipeline,
    read_pool: AsyncConnectionPool | None = None,
) -> FastAPI:
    """The HTTP application for the configured role over an open pool and ingest pipeline."""
    keys = KeyAuthenticator(pool)
    authenticate = make_authenticator(keys)
    limits = BodyLimits(settings.max_request_body_bytes, settings.max_decompressed_bytes,
                        settings.http_body_timeout_s)
    svc = Services(
        pool=pool,
        readiness=_readiness(pool, pipeline, settings.writer_stall_s),
        metrics=lambda: (pipeline.metrics.render(), CONTENT_TYPE),
        read_pool=read_pool,
        queue_state=(lambda: _queue_state(pipeline)) if pipeline.queue is not None else None,
    )
    ingest_routes = []
    if pipeline.ingestor is not None:  # roles all and ingest
        ingest_routes.append(
            native_router(pipeline.ingestor, authenticate, partial(read_back, pool), limits)
        )
        ingest_routes.append(otlp_router(pipeline.ingestor, authenticate, limits))
    auth_options = AuthOptions(
        session_lifetime_s=settings.session_lifetime_s,
        signin_ip_limit=settings.signin_ip_limit,
        signin_account_limit=settings.signin_account_limit,
        signup=settings.signup,
        trusted_origins=settings.trusted_origins,
    )
    app = create_app(
        svc, authenticate, ingest_routes, read_routes=settings.role in ("all", "api"),
        auth_options=auth_options,
    )
    app.add_middleware(
        InflightLimit, max_bytes=settings.max_inflight_bytes,
        on_reject=lambda: pipeline.metrics.rejected.labels("inflight_limit").inc(),
    )
    app.state.pipeline = pipeline
    app.state.keys = keys  # the gRPC receiver authenticates with the same KeyAuthenticator
    return app


async def load_custom_prices(settings: Settings, pool: AsyncConnectionPool) -> None:
    """Prices for models genai-prices does not know, from ``PULSE_PRICES_FILE`` (synced: a
    price removed from the file is removed from the database)."""
    try:
        entries = prices.load_prices_file(settings.prices_file) if settings.prices_file else []
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"Invalid setting PULSE_PRICES_FILE: {exc}") from exc
    await prices.sync_config_prices(pool, entries)


def grpc_receiver(settings: Settings, ingestor: Ingestor, keys: KeyAuthenticator) -> GrpcReceiver:
    """The OTLP gRPC receiver over the same ingest entry and key check as HTTP."""
    return GrpcReceiver(
        ingestor,
        keys.check,
        host=settings.grpc_host,
        port=settings.grpc_port,
        max_message_bytes=settings.grpc_max_recv_msg_size_mib * 1024 * 1024,
    )


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


def http_server_config(settings: Settings, app: FastAPI, port: int | None = None) -> uvicorn.Config:
    """The HTTP server's settings. Forwarded headers (``X-Forwarded-For``) are believed only
    from ``PULSE_TRUSTED_PROXIES`` (uvicorn's own default trusts loopback, which lets the clients
    of any local proxy pick their address and rotate past the per-address sign-in throttle)."""
    return uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port if port is None else port,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        lifespan="off",
        timeout_graceful_shutdown=settings.shutdown_timeout_s,
        server_header=False,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies) or None,
        timeout_keep_alive=settings.http_idle_timeout_s,
        limit_concurrency=settings.http_max_connections,  # beyond it: an immediate 503
    )


def raise_open_file_limit(connections: int) -> None:
    """Raise the soft open-file limit (often 1,024) towards the hard one so that the connection
    cap, not file exhaustion, decides: at the fd limit accept() fails and *every* client -
    /health included - hangs instead of getting a fast 503."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = connections + 1024  # database pool, queue segments, gRPC, workers' pipes
    if soft != resource.RLIM_INFINITY and soft < want:
        target = want if hard == resource.RLIM_INFINITY else min(want, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def announce_key(key: accounts.NewKey, out: TextIO = sys.stdout) -> None:
    print(
        f'\nCreated project "Default" ({key.project_id}).\n'
        f"Its API key, shown only this once - store it now:\n\n    {key.key}\n\n"
        "To use the web dashboard, create your account in this project, then sign in at /:\n"
        f"    pulse-bridge users create --email you@example.com --name You "
        f"--project {key.project_id} --role admin\n",
        file=out,
        flush=True,
    )


def listen_failure(what: str, host: str, port: int, setting: str, alternative: str = "") -> str:
    """The one-line start-up error for a port we cannot listen on (the CLI checks first)."""
    return (
        f"Cannot listen for {what} on {host}:{port} (the port is in use, or the address is not"
        f" available): stop the program using it, or set {setting} to another host:port"
        + (f" ({alternative})" if alternative else "")
    )


async def serve(
    settings: Settings, announce: Callable[[accounts.NewKey], None] = announce_key
) -> None:
    """Run the service until SIGINT/SIGTERM.

    Shutdown is this exit stack unwinding, the reverse of the start order: the HTTP server stops
    accepting and finishes its requests (``await serving`` returns), then the gRPC receiver stops
    (grace period), then the pipeline drains the writer loop within the deadline and closes the
    mapping workers and the queue, then the retention job, the pool and the embedded database
    stop."""
    async with contextlib.AsyncExitStack() as stack:
        db = await stack.enter_async_context(open_database(settings))
        flavour = (
            f"TimescaleDB {db.migrations.timescaledb_version}"
            if db.migrations.timescaledb
            else "plain PostgreSQL"
        )
        log.info("database %s (%s), role %s", describe_url(db.url), flavour, settings.role)
        if settings.create_default_project:
            key = await accounts.ensure_default_project(db.pool)
            if key is not None:
                announce(key)
        await load_custom_prices(settings, db.pool)
        if settings.role != "api":  # the roles that write also delete; the query API only reads
            await stack.enter_async_context(
                RetentionJob(db.pool, settings.retention_days, settings.retention_interval_s)
            )
        pipeline = await stack.enter_async_context(ingest_pipeline(settings, db.pool))
        app = build_app(settings, db.pool, pipeline, db.read_pool)
        if pipeline.ingestor is not None and settings.grpc_enabled:
            receiver = grpc_receiver(settings, pipeline.ingestor, app.state.keys)
            try:
                await stack.enter_async_context(receiver)
            except (OSError, RuntimeError) as exc:  # grpcio: RuntimeError("Failed to bind ...")
                raise ConfigError(listen_failure(
                    "OTLP gRPC", settings.grpc_host, settings.grpc_port,
                    "PULSE_GRPC_ENDPOINT", "or PULSE_GRPC_ENABLED=false",
                )) from exc
            print(f"OTLP gRPC listening on {settings.grpc_host}:{receiver.port}", flush=True)
        raise_open_file_limit(settings.http_max_connections)
        config = http_server_config(settings, app)
        server = _Server(config)
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():  # noqa: ASYNC110 - uvicorn has only a flag
            await asyncio.sleep(0.02)
        if server.started:  # announce only once the socket is bound and accepting
            print(
                f"Pulse Bridge listening on http://{settings.http_host}:{settings.http_port}",
                flush=True,
            )
        await serving  # returns once HTTP has stopped; the stack then unwinds as above
