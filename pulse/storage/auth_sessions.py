"""Credentials of people (docs/api.md §Dashboard sessions): argon2id password hashes, browser
sessions and one-time login links.

* Passwords: argon2id (argon2-cffi's RFC 9106 low-memory profile). Hashing is CPU- and
  memory-heavy, so it runs in a worker thread, at most ``MAX_PARALLEL_HASHES`` at a time (a flood
  of sign-ins cannot exhaust memory). :func:`verify_password` with ``None`` checks against a
  dummy hash, so an unknown email costs the same time as a wrong password (no user enumeration
  by timing).
* Session tokens and login-link tokens are 256 random bits; only their SHA-256 is stored and
  lookups are by hash, so no secret is ever compared byte by byte (nothing to time).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg_pool import AsyncConnectionPool

MAX_PARALLEL_HASHES = 4
_hasher = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4
_hash_slots: asyncio.Semaphore | None = None
_dummy_hash: str | None = None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    session_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    name: str
    created_at: datetime
    expires_at: datetime
    user_created_at: datetime
    user_updated_at: datetime


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "replace")).digest()


def _slots() -> asyncio.Semaphore:
    global _hash_slots
    if _hash_slots is None:
        _hash_slots = asyncio.Semaphore(MAX_PARALLEL_HASHES)
    return _hash_slots


async def hash_password(password: str) -> str:
    async with _slots():
        return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; ``None`` (no such user) does the same work."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = await hash_password(secrets.token_urlsafe(16))
    async with _slots():
        ok = await asyncio.to_thread(_verify, stored or _dummy_hash, password)
    return ok and stored is not None


# -- browser sessions ------------------------------------------------------------------------


async def create_session(
    pool: AsyncConnectionPool, user_id: uuid.UUID, lifetime_s: int,
    ip_address: str | None = None, user_agent: str | None = None,
) -> tuple[str, SessionInfo]:
    """A new session for the user: (token for the cookie, its info)."""
    token = secrets.token_urlsafe(32)
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO pulse.auth_sessions (id, user_id, token_hash, expires_at, ip_address,"
            " user_agent) VALUES (%s, %s, %s, now() + %s * interval '1 second', %s, %s)",
            (uuid.uuid4(), user_id, hash_token(token), lifetime_s, ip_address,
             (user_agent or "")[:500] or None),
        )
    info = await session_user(pool, token)
    assert info is not None  # just inserted
    return token, info


async def session_user(pool: AsyncConnectionPool, token: str) -> SessionInfo | None:
    """The live session behind ``token`` (not expired, not revoked), or None."""
    if not token or len(token) > 200:
        return None
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT s.id, u.id, u.email, u.name, s.created_at, s.expires_at, u.created_at,"
            " u.updated_at FROM pulse.auth_sessions s JOIN pulse.users u ON u.id = s.user_id"
            " WHERE s.token_hash = %s AND s.revoked_at IS NULL AND s.expires_at > now()",
            (hash_token(token),),
        )
        row = await cur.fetchone()
    return SessionInfo(*row) if row else None


async def revoke_session(pool: AsyncConnectionPool, token: str) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE pulse.auth_sessions SET revoked_at = now()"
            " WHERE token_hash = %s AND revoked_at IS NULL",
            (hash_token(token),),
        )
        return cur.rowcount == 1


async def purge_expired(pool: AsyncConnectionPool) -> int:
    """Delete sessions and login links that can no longer be used."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "DELETE FROM pulse.auth_sessions WHERE expires_at < now() - interval '1 day'"
        )
        deleted = cur.rowcount
        cur = await conn.execute(
            "DELETE FROM pulse.login_links WHERE expires_at < now() - interval '1 day'"
        )
        return deleted + cur.rowcount


# -- one-time login links --------------------------------------------------------------------


async def create_login_link(
    pool: AsyncConnectionPool, user_id: uuid.UUID, lifetime_s: int = 120
) -> str:
    token = secrets.token_urlsafe(32)
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO pulse.login_links (token_hash, user_id, expires_at)"
            " VALUES (%s, %s, now() + %s * interval '1 second')",
            (hash_token(token), user_id, lifetime_s),
        )
    return token


async def consume_login_link(pool: AsyncConnectionPool, token: str) -> uuid.UUID | None:
    """The link's user if it is live; marks it used in the same statement (single use)."""
    if not token or len(token) > 200:
        return None
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE pulse.login_links SET used_at = now() WHERE token_hash = %s"
            " AND used_at IS NULL AND expires_at > now() RETURNING user_id",
            (hash_token(token),),
        )
        row = await cur.fetchone()
    return row[0] if row else None
