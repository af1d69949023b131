"""Projects, API keys, users and project memberships (docs/api.md §Projects and roles). Browser
sessions, password hashing and one-time login links live in :mod:`pulse.storage.auth_sessions`.

API keys look like ``pulse_sk_<43 url-safe chars>`` (256 random bits). Only their SHA-256 is
stored, with a short display prefix; the plaintext exists once, in the return value of
:func:`create_key`. Because the key carries 256 bits of entropy, a fast hash is the right tool
(no salt/stretching needed) and lookup by hash compares no secret byte-by-byte.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from pulse.records import ApiKeyInfo

ROLES = ("admin", "user")
Conn = AsyncConnectionPool | AsyncConnection

KEY_PREFIX = "pulse_sk_"
DISPLAY_CHARS = 4  # characters of the secret shown after the prefix
# last_used_at is refreshed at most this often per key, so a busy key does not write per request.
LAST_USED_RESOLUTION_S = 60


@dataclass(frozen=True, slots=True)
class NewKey:
    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    key: str  # plaintext: show once, never store
    display_prefix: str


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def create_project(pool: AsyncConnectionPool, name: str) -> uuid.UUID:
    project_id = uuid.uuid4()
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO pulse.projects (id, name) VALUES (%s, %s)", (project_id, name)
        )
    return project_id


async def list_projects(pool: AsyncConnectionPool) -> list[dict[str, Any]]:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT p.id, p.name, p.created_at,"
            " (SELECT count(*) FROM pulse.api_keys k"
            "   WHERE k.project_id = p.id AND k.revoked_at IS NULL) AS active_keys"
            " FROM pulse.projects p ORDER BY p.created_at, p.id"
        )
        return await cur.fetchall()


async def project_exists(pool: AsyncConnectionPool, project_id: uuid.UUID) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT 1 FROM pulse.projects WHERE id = %s", (project_id,))
        return await cur.fetchone() is not None


async def create_key(
    pool: AsyncConnectionPool | AsyncConnection, project_id: uuid.UUID, name: str = "Default Key"
) -> NewKey:
    key = generate_key()
    display = key[: len(KEY_PREFIX) + DISPLAY_CHARS]
    key_id = uuid.uuid4()
    sql_text = (
        "INSERT INTO pulse.api_keys (id, project_id, name, key_hash, display_prefix)"
        " VALUES (%s, %s, %s, %s, %s)"
    )
    args = (key_id, project_id, name, hash_key(key), display)
    if isinstance(pool, AsyncConnection):
        await pool.execute(sql_text, args)
    else:
        async with pool.connection() as conn:
            await conn.execute(sql_text, args)
    return NewKey(key_id, project_id, name, key, display)


async def list_keys(pool: AsyncConnectionPool, project_id: uuid.UUID) -> list[dict[str, Any]]:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id, name, display_prefix, created_at, last_used_at, revoked_at"
            " FROM pulse.api_keys WHERE project_id = %s ORDER BY created_at, id",
            (project_id,),
        )
        return await cur.fetchall()


async def revoke_key(pool: AsyncConnectionPool, key_id: uuid.UUID) -> bool:
    """Revoke a key; True when a live key was revoked. Takes effect on the next request."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE pulse.api_keys SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL",
            (key_id,),
        )
        return cur.rowcount == 1


async def authenticate(
    pool: AsyncConnectionPool, key: str, timeout: float | None = None
) -> ApiKeyInfo | None:
    """The project of a live key, or None. Refreshes ``last_used_at`` at most once a minute.

    ``timeout`` bounds the wait for a pooled connection (PoolTimeout beyond it).
    """
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    async with pool.connection(timeout=timeout) as conn:
        cur = await conn.execute(
            "SELECT id, project_id, last_used_at FROM pulse.api_keys"
            " WHERE key_hash = %s AND revoked_at IS NULL",
            (hash_key(key),),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        key_id, project_id, last_used = row
        if _stale(last_used):
            await conn.execute(
                "UPDATE pulse.api_keys SET last_used_at = now() WHERE id = %s", (key_id,)
            )
    return ApiKeyInfo(key_id=key_id, project_id=project_id)


def _stale(last_used: datetime | None) -> bool:
    if last_used is None:
        return True
    return (datetime.now(last_used.tzinfo) - last_used).total_seconds() > LAST_USED_RESOLUTION_S


async def ensure_default_project(pool: AsyncConnectionPool) -> NewKey | None:
    """On an empty database, create project "Default" with a key and return it; else None.

    Serialised with an advisory transaction lock so two instances starting together on an empty
    database create one default project, not two.
    """
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (0x70756C7366,))
        cur = await conn.execute("SELECT 1 FROM pulse.projects LIMIT 1")
        if await cur.fetchone() is not None:
            return None
        project_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO pulse.projects (id, name) VALUES (%s, %s)", (project_id, "Default")
        )
        return await create_key(conn, project_id, "Default Key")


# -- users and memberships -------------------------------------------------------------------

_USER_COLUMNS = "id, email, name, password_hash, created_at, updated_at"


class EmailTaken(Exception):
    """A user with this email (case-insensitively) already exists."""


class SignupClosed(Exception):
    """Sign-up for the first account only, and an account exists already."""


class LastAdmin(Exception):
    """The change would leave the project without an admin."""


async def _fetch(conn: Conn, sql_text: str, args: tuple) -> list[dict[str, Any]]:
    if isinstance(conn, AsyncConnection):
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql_text, args)
            return await cur.fetchall()
    async with conn.connection() as c, c.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql_text, args)
        return await cur.fetchall()


async def _fetch_one(conn: Conn, sql_text: str, args: tuple) -> dict[str, Any] | None:
    rows = await _fetch(conn, sql_text, args)
    return rows[0] if rows else None


async def create_user(
    conn: Conn, email: str, name: str, password_hash: str | None
) -> uuid.UUID:
    """Insert a user; raises :class:`EmailTaken` when the email is in use."""
    user_id = uuid.uuid4()
    row = await _fetch_one(
        conn,
        "INSERT INTO pulse.users (id, email, name, password_hash) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING RETURNING id",
        (user_id, email.strip(), name.strip(), password_hash),
    )
    if row is None:
        raise EmailTaken(email)
    return user_id


async def user_by_email(conn: Conn, email: str) -> dict[str, Any] | None:
    return await _fetch_one(
        conn, f"SELECT {_USER_COLUMNS} FROM pulse.users WHERE lower(email) = lower(%s)",
        (email.strip(),),
    )


async def add_member(conn: Conn, project_id: uuid.UUID, user_id: uuid.UUID, role: str) -> bool:
    """Give ``user_id`` a role in the project; False when already a member (role unchanged)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    row = await _fetch_one(
        conn,
        "INSERT INTO pulse.memberships (project_id, user_id, role) VALUES (%s, %s, %s)"
        " ON CONFLICT DO NOTHING RETURNING 1 AS ok",
        (project_id, user_id, role),
    )
    return row is not None


async def membership_role(
    conn: Conn, user_id: uuid.UUID, project_id: uuid.UUID
) -> str | None:
    row = await _fetch_one(
        conn, "SELECT role FROM pulse.memberships WHERE user_id = %s AND project_id = %s",
        (user_id, project_id),
    )
    return row["role"] if row else None


async def user_projects(conn: Conn, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """The projects a user belongs to, oldest membership first: id, name, created_at, role."""
    return await _fetch(
        conn,
        "SELECT p.id, p.name, p.created_at, m.role FROM pulse.memberships m"
        " JOIN pulse.projects p ON p.id = m.project_id WHERE m.user_id = %s"
        " ORDER BY m.created_at, p.id",
        (user_id,),
    )


async def project_members(conn: Conn, project_id: uuid.UUID) -> list[dict[str, Any]]:
    return await _fetch(
        conn,
        "SELECT u.id, u.email, u.name, m.role, m.created_at FROM pulse.memberships m"
        " JOIN pulse.users u ON u.id = m.user_id WHERE m.project_id = %s"
        " ORDER BY m.created_at, u.id",
        (project_id,),
    )


async def first_admin(conn: Conn) -> dict[str, Any] | None:
    """The user holding the oldest admin membership (the one `dashboard-login` signs in)."""
    return await _fetch_one(
        conn,
        "SELECT u.id, u.email, u.name FROM pulse.memberships m JOIN pulse.users u"
        " ON u.id = m.user_id WHERE m.role = 'admin' ORDER BY m.created_at, u.id LIMIT 1",
        (),
    )


async def create_owned_project(
    pool: AsyncConnectionPool, user_id: uuid.UUID, name: str
) -> NewKey:
    """A project with ``user_id`` as admin and a key named "Default Key", in one transaction."""
    async with pool.connection() as conn, conn.transaction():
        project_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO pulse.projects (id, name) VALUES (%s, %s)", (project_id, name.strip())
        )
        await add_member(conn, project_id, user_id, "admin")
        return await create_key(conn, project_id, "Default Key")


# Serialises "first account only" sign-ups: two at once cannot both see an empty users table.
_SIGNUP_LOCK = 0x5055_4C53_4955  # "PULSIU"


async def has_users(pool: AsyncConnectionPool) -> bool:
    return await _fetch_one(pool, "SELECT 1 AS x FROM pulse.users LIMIT 1", ()) is not None


async def signup(
    pool: AsyncConnectionPool, email: str, name: str, password_hash: str, project_name: str,
    first_only: bool = False,
) -> NewKey | None:
    """User + project + admin membership + "Default Key" atomically; None if the email is taken.
    ``first_only``: raise :class:`SignupClosed` when any user exists (checked under a lock)."""
    async with pool.connection() as conn, conn.transaction():
        if first_only:
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SIGNUP_LOCK,))
            cur = await conn.execute("SELECT 1 FROM pulse.users LIMIT 1")
            if await cur.fetchone() is not None:
                raise SignupClosed()
        try:
            user_id = await create_user(conn, email, name, password_hash)
        except EmailTaken:
            return None
        project_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO pulse.projects (id, name) VALUES (%s, %s)",
            (project_id, project_name.strip()),
        )
        await add_member(conn, project_id, user_id, "admin")
        return await create_key(conn, project_id, "Default Key")


# -- keys, scoped to one project (dashboard) -------------------------------------------------


async def project_key(
    pool: AsyncConnectionPool, project_id: uuid.UUID, key_id: uuid.UUID
) -> dict[str, Any] | None:
    """One key of the project (never another project's: both ids must match)."""
    return await _fetch_one(
        pool,
        "SELECT id, name, display_prefix, created_at, last_used_at, revoked_at"
        " FROM pulse.api_keys WHERE project_id = %s AND id = %s",
        (project_id, key_id),
    )


async def rename_key(
    pool: AsyncConnectionPool, project_id: uuid.UUID, key_id: uuid.UUID, name: str
) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE pulse.api_keys SET name = %s WHERE project_id = %s AND id = %s",
            (name.strip(), project_id, key_id),
        )
        return cur.rowcount == 1


async def revoke_project_key(
    pool: AsyncConnectionPool, project_id: uuid.UUID, key_id: uuid.UUID
) -> bool:
    """Revoke a key of this project (idempotent); False when the project has no such key."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE pulse.api_keys SET revoked_at = coalesce(revoked_at, now())"
            " WHERE project_id = %s AND id = %s",
            (project_id, key_id),
        )
        return cur.rowcount == 1


# -- members ---------------------------------------------------------------------------------


async def _admins_after(conn, project_id: uuid.UUID, user_id: uuid.UUID) -> tuple[str | None, int]:
    """(the user's role, admins other than the user), with the project's memberships locked."""
    cur = await conn.execute(
        "SELECT user_id, role FROM pulse.memberships WHERE project_id = %s FOR UPDATE",
        (project_id,))
    rows = await cur.fetchall()
    role = next((r for u, r in rows if u == user_id), None)
    return role, sum(1 for u, r in rows if r == "admin" and u != user_id)


async def set_member_role(
    pool: AsyncConnectionPool, project_id: uuid.UUID, user_id: uuid.UUID, role: str
) -> bool:
    """Change a member's role; False when not a member. Raises :class:`LastAdmin` when it would
    demote the project's last admin."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    async with pool.connection() as conn, conn.transaction():
        current, other_admins = await _admins_after(conn, project_id, user_id)
        if current is None:
            return False
        if current == "admin" and role != "admin" and other_admins == 0:
            raise LastAdmin()
        await conn.execute(
            "UPDATE pulse.memberships SET role = %s WHERE project_id = %s AND user_id = %s",
            (role, project_id, user_id))
        return True


async def remove_member(
    pool: AsyncConnectionPool, project_id: uuid.UUID, user_id: uuid.UUID
) -> bool:
    """Remove a member (the account stays); False when not a member. Raises
    :class:`LastAdmin` for the project's last admin."""
    async with pool.connection() as conn, conn.transaction():
        current, other_admins = await _admins_after(conn, project_id, user_id)
        if current is None:
            return False
        if current == "admin" and other_admins == 0:
            raise LastAdmin()
        await conn.execute(
            "DELETE FROM pulse.memberships WHERE project_id = %s AND user_id = %s",
            (project_id, user_id))
        return True
