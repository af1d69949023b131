"""Request dependencies: API-key authentication (docs/api.md §API keys), dashboard sessions
(cookie ``better-auth.session_token`` + ``X-Project-Id``) and the app's services.

``Services`` is what ``main`` hands the app (the pool, readiness probes). ``make_authenticator``
returns the FastAPI dependency used by every ``/v1`` route, including the ingest routes of
``receivers`` (which receive it as a callable).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from uuid import UUID

import psycopg
from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from pulse.errors import Forbidden, InvalidInput, Retryable, Unauthorized
from pulse.records import ApiKeyInfo, ProjectAccess
from pulse.storage import accounts, auth_sessions

# A readiness probe returns None when fine, or a reason string when not ready.
ReadinessProbe = Callable[[], Awaitable[str | None]]


@dataclass
class Services:
    pool: AsyncConnectionPool
    readiness: list[ReadinessProbe] = field(default_factory=list)
    # Prometheus exposition of the ingest path: (body, content type); None when not collected.
    metrics: Callable[[], tuple[bytes, str]] | None = None
    # a read replica (PULSE_READ_DATABASE_URL) for the query routes and the dashboard's pages;
    # accounts, sessions and keys stay on the primary (they write)
    read_pool: AsyncConnectionPool | None = None
    # the ingest queue's state for /health/ready's body (backend, depth, stream lag); None: no queue
    queue_state: Callable[[], dict[str, object]] | None = None

    @property
    def reads(self) -> AsyncConnectionPool:
        return self.read_pool or self.pool


def services(request: Request) -> Services:
    return request.app.state.services


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise Unauthorized("Missing or invalid Authorization header")
    return token


class KeyAuthenticator:
    """API key -> project, asking the database every time it is reachable.

    docs/api.md §API keys: while the database is down, ingest keeps accepting into the local queue.
    Keys cannot be checked then, so the authenticator remembers keys it verified recently (by hash,
    bounded, for ``remember_s``) and accepts those during an outage only. While the database is up
    every request is checked against it, so revocation takes effect immediately. After a failure the
    database is not asked again for ``retry_after_s`` (a request must not wait for the pool's
    connect timeout each time).
    """

    def __init__(
        self, pool: AsyncConnectionPool, *, remember_s: float = 3600.0, max_keys: int = 10_000,
        retry_after_s: float = 2.0, connect_timeout_s: float = 2.0,
    ) -> None:
        self.pool = pool
        self.remember_s = remember_s
        self.max_keys = max_keys
        self.retry_after_s = retry_after_s
        self.connect_timeout_s = connect_timeout_s
        self._known: OrderedDict[bytes, tuple[ApiKeyInfo, float]] = OrderedDict()
        self._down_until = 0.0

    async def check(self, token: str) -> ApiKeyInfo | None:
        """The key's project, None for an unknown/revoked key; Retryable if it cannot be told."""
        now = time.monotonic()
        if now >= self._down_until:
            try:
                info = await accounts.authenticate(self.pool, token, self.connect_timeout_s)
            except (psycopg.OperationalError, PoolTimeout):
                self._down_until = now + self.retry_after_s
            else:
                self._remember(token, info, now)
                return info
        return self._fallback(token, now)

    def _remember(self, token: str, info: ApiKeyInfo | None, now: float) -> None:
        digest = accounts.hash_key(token)
        if info is None:
            self._known.pop(digest, None)
            return
        self._known[digest] = (info, now)
        self._known.move_to_end(digest)
        while len(self._known) > self.max_keys:
            self._known.popitem(last=False)

    def _fallback(self, token: str, now: float) -> ApiKeyInfo:
        hit = self._known.get(accounts.hash_key(token))
        if hit is not None and now - hit[1] <= self.remember_s:
            return hit[0]
        raise Retryable("Database unavailable, retry later", retry_after=int(self.retry_after_s))


def make_authenticator(
    pool_or_keys: AsyncConnectionPool | KeyAuthenticator,
) -> Callable[[Request], Awaitable[ApiKeyInfo]]:
    """The FastAPI dependency for ``/v1`` routes: ``Authorization: Bearer pulse_sk_...``."""
    keys = (
        pool_or_keys if isinstance(pool_or_keys, KeyAuthenticator)
        else KeyAuthenticator(pool_or_keys)
    )

    async def authenticate(request: Request) -> ApiKeyInfo:
        info = await keys.check(bearer_token(request))
        if info is None:
            raise Unauthorized("Invalid API key")
        return info

    return authenticate


# -- dashboard: session cookie (or its Bearer form) and project membership -------------------

SESSION_COOKIE = "better-auth.session_token"


def session_token(request: Request) -> str | None:
    """The session token from the cookie, else from ``Authorization: Bearer`` (better-auth's
    bearer form; an API key there is not a session token)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        return token
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value and not value.startswith(accounts.KEY_PREFIX):
        return value
    return None


async def current_session(request: Request) -> auth_sessions.SessionInfo:
    """The signed-in user's live session; 401 when absent, expired or signed out."""
    token = session_token(request)
    info = await auth_sessions.session_user(services(request).pool, token) if token else None
    if info is None:
        raise Unauthorized("Unauthorized")
    request.state.session = info
    return info


async def project_access(
    request: Request, session: auth_sessions.SessionInfo = Depends(current_session)
) -> ProjectAccess:
    """``X-Project-Id`` checked against the user's memberships (400 missing, 403 not a member)."""
    raw = request.headers.get("x-project-id", "").strip()
    if not raw:
        raise InvalidInput("Missing X-Project-Id header")
    try:
        project_id = UUID(raw)
    except ValueError:
        raise InvalidInput("Invalid X-Project-Id header") from None
    role = await accounts.membership_role(services(request).pool, session.user_id, project_id)
    if role is None:
        raise Forbidden("Forbidden: no access to this project")
    return ProjectAccess(project_id=project_id, user_id=session.user_id, role=role)


async def project_admin(access: ProjectAccess = Depends(project_access)) -> ProjectAccess:
    """Key and user management need the admin role (docs/api.md §Projects and roles)."""
    if access.role != "admin":
        raise Forbidden("Forbidden: admin role required")
    return access
