"""Numbered SQL migrations (``migrations/NNN_name.sql``), applied in order under an advisory lock.

Several processes may start at once against one database (scale-out): the session-level advisory
lock makes exactly one of them apply pending migrations while the others wait, then find nothing
left to do. Each migration runs in its own transaction together with its bookkeeping row.

TimescaleDB: before migrating, the runner creates the ``timescaledb`` extension when it is
available (mode ``auto``/``require``); migrations then check ``pg_extension`` to decide between
hypertables and plain tables. ``require`` fails when the extension cannot be created.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from pulse.errors import ConfigError

log = logging.getLogger("pulse.storage.migrate")

# An arbitrary constant identifying "pulse-bridge migrations" among advisory locks.
MIGRATION_LOCK_ID = 0x70756C7365  # "pulse"
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class MigrationReport:
    applied: list[str]
    timescaledb: bool
    timescaledb_version: str | None


def migration_files() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) for every migration shipped with the package, in order."""
    folder = resources.files("pulse.storage").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if len(set(numbers)) != len(numbers):
        raise RuntimeError(f"duplicate migration numbers: {numbers}")
    return found


def _enable_timescaledb(conn: psycopg.Connection, mode: str) -> str | None:
    """Create the extension when possible; return its version or None (plain PostgreSQL)."""
    if mode != "off":
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()
        # CREATE EXTENSION without the library preloaded fails in a way that closes the
        # connection, so look first: installed but not preloaded means plain tables.
        preloaded = "timescaledb" in conn.execute(
            "SELECT current_setting('shared_preload_libraries')"
        ).fetchone()[0]
        if available and not preloaded:
            log.warning("timescaledb is installed but not in shared_preload_libraries: "
                        "using plain tables (see scripts/install-timescaledb.sh)")
        elif available:
            try:
                with conn.transaction():
                    conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            except psycopg.Error as exc:  # e.g. not in shared_preload_libraries
                log.warning("timescaledb is installed but cannot be created: %s", exc)
    row = conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    ).fetchone()
    version = row[0] if row else None
    if mode == "require" and version is None:
        raise ConfigError(
            "Invalid setting PULSE_TIMESCALEDB: 'require' but the timescaledb extension is not "
            "available in this database (see scripts/install-timescaledb.sh)"
        )
    return version


def migrate(url: str, timescaledb_mode: str = "auto") -> MigrationReport:
    """Apply pending migrations to ``url`` (synchronous; safe to run concurrently)."""
    applied: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_ID,))
        try:
            version = _enable_timescaledb(conn, timescaledb_mode)
            conn.execute(
                "CREATE TABLE IF NOT EXISTS public.pulse_schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {
                r[0] for r in conn.execute("SELECT version FROM public.pulse_schema_migrations")
            }
            for number, name, text in migration_files():
                if number in done:
                    continue
                log.info("applying migration %s", name)
                with conn.transaction():
                    conn.execute(text)
                    conn.execute(
                        "INSERT INTO public.pulse_schema_migrations (version, name)"
                        " VALUES (%s, %s)",
                        (number, name),
                    )
                applied.append(name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_ID,))
    return MigrationReport(applied, version is not None, version)


def hypertables(url: str) -> list[str]:
    """Names of the pulse hypertables (empty on plain PostgreSQL)."""
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_extension WHERE extname='timescaledb'").fetchone():
            return []
        rows = conn.execute(
            "SELECT hypertable_name FROM timescaledb_information.hypertables"
            " WHERE hypertable_schema = 'pulse' ORDER BY 1"
        ).fetchall()
        return [r[0] for r in rows]
