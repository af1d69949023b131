"""Request dependencies: API-key authentication (SPEC.md §2, data plane) and the app's services.

``Services`` is what ``main`` hands the app (the pool, readiness probes). ``make_authenticator``
returns the FastAPI dependency used by every ``/v1`` route, including the ingest routes of
``collector`` (which receive it as a callable).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import psycopg
from fastapi import Request
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from pulse.errors import Retryable, Unauthorized
from pulse.records import ApiKeyInfo
from pulse.storage import accounts

# A readiness probe returns None when fine, or a reason string when not ready.
ReadinessProbe = Callable[[], Awaitable[str | None]]


@dataclass
class Services:
    pool: AsyncConnectionPool
    readiness: list[ReadinessProbe] = field(default_factory=list)
    # Prometheus exposition of the ingest path: (body, content type); None when not collected.
    metrics: Callable[[], tuple[bytes, str]] | None = None


def services(request: Request) -> Services:
    return request.app.state.services


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise Unauthorized("Missing or invalid Authorization header")
    return token


def make_authenticator(pool: AsyncConnectionPool) -> Callable[[Request], Awaitable[ApiKeyInfo]]:
    async def authenticate(request: Request) -> ApiKeyInfo:
        token = bearer_token(request)
        try:
            info = await accounts.authenticate(pool, token)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise Retryable("Database unavailable, retry later") from exc
        if info is None:
            raise Unauthorized("Invalid API key")
        request.state.api_key = info
        return info

    return authenticate
