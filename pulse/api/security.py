"""Abuse resistance for the dashboard and auth routes
(docs/api.md §Browser protections, §Throttles): options, sign-in rate limits, the session cookie,
and one ASGI middleware for Origin checks, body limits and security headers.

* **Origin check**: a state-changing request (POST/PUT/PATCH/DELETE) to ``/api/auth/*`` or
  ``/dashboard/*`` that carries an ``Origin`` (or, failing that, ``Referer``) naming another
  site is refused with 403 before it reaches a route. Browsers always send ``Origin`` on
  cross-origin POSTs; clients that send neither (the Pulse CLI, curl) are not browsers and cannot
  be driven by another site. Same-origin means the Origin's host:port equals the request's
  ``Host``, or the origin is listed in ``trusted_origins`` (e.g. the public URL behind a proxy).
* **Body limit**: JSON bodies on those paths are bounded (``max_json_body_bytes``, 413 beyond),
  before any parsing, including chunked bodies.
* **Headers**: every response gets ``X-Content-Type-Options: nosniff``, ``Referrer-Policy`` and
  ``X-Frame-Options``; HTML responses also get a Content-Security-Policy; auth and dashboard API
  answers are ``Cache-Control: no-store``; https requests get HSTS.

Rate limits live in process memory (per instance): put several instances behind a proxy with
sticky sign-in routing or accept N-times the limit.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from pulse.api.deps import SESSION_COOKIE

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
GUARDED_PREFIXES = ("/api/auth/", "/dashboard/")
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})

_STRICT_CSP = (
    "default-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; "
    "object-src 'none'"
)
# FastAPI's /docs and /redoc pages load their assets from jsDelivr and run one inline script.
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
    "https://fastapi.tiangolo.com https://cdn.redoc.ly; worker-src blob:; "
    "frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(frozen=True, slots=True)
class AuthOptions:
    """Plain values from Settings (the api layer does not import config)."""

    session_lifetime_s: int = 7 * 24 * 3600
    signin_ip_limit: int = 20  # sign-in attempts per IP per window
    signin_ip_window_s: int = 60
    signin_account_limit: int = 10  # failed sign-ins per account per window
    signin_account_window_s: int = 900
    signup_ip_limit: int = 10  # sign-ups per IP per hour
    signup: str = "first_account"  # first_account | open | closed (PULSE_SIGNUP)
    trusted_origins: tuple[str, ...] = ()  # e.g. ("https://pulse.example.com",)
    max_json_body_bytes: int = 64 * 1024


class RateLimiter:
    """Sliding-window counter per key, bounded in memory (least recently used keys dropped)."""

    def __init__(self, limit: int, window_s: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def _window(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
        self._hits.move_to_end(key)
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        return hits

    def retry_after(self, key: str) -> int | None:
        """Seconds until ``key`` may try again, or None when it is under the limit."""
        now = time.monotonic()
        hits = self._window(key, now)
        if len(hits) < self.limit:
            return None
        return max(1, int(hits[0] + self.window_s - now) + 1)

    def hit(self, key: str) -> None:
        now = time.monotonic()
        self._window(key, now).append(now)

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)


def client_ip(request: Request) -> str:
    """The client address (uvicorn already applied X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else "unknown"


def is_loopback_client(request: Request) -> bool:
    """True for a direct loopback client: not forwarded by any proxy (a proxy on the same host
    would make every remote visitor look local)."""
    forwarded = any(h in request.headers for h in ("forwarded", "x-forwarded-for", "x-real-ip"))
    return not forwarded and client_ip(request) in LOOPBACK


def set_session_cookie(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, path="/", httponly=True, samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax",
        secure=request.url.scheme == "https",
    )


def _origin_of(value: str) -> str | None:
    parts = urlsplit(value.strip())
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class SecurityMiddleware:
    """Pure ASGI middleware (streams untouched): Origin check, body limit, security headers."""

    def __init__(self, app, options: AuthOptions) -> None:
        self.app = app
        self.options = options
        self.trusted = frozenset(o for o in map(_origin_of, options.trusted_origins) if o)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        guarded = path.startswith(GUARDED_PREFIXES)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if guarded and scope["method"] in STATE_CHANGING:
            if not self._same_origin(headers):
                await _json(403, {"error": "Forbidden: cross-origin request refused"})(
                    scope, receive, send
                )
                return
            receive = await self._bounded(headers, receive, scope, send)
            if receive is None:
                return
        await self.app(scope, receive, self._with_headers(scope, send, guarded))

    def _same_origin(self, headers: dict[str, str]) -> bool:
        claimed = headers.get("origin") or headers.get("referer")
        if claimed is None:
            return True  # not a browser-initiated cross-site request
        origin = _origin_of(claimed)
        if origin is None:  # "null" (sandboxed frames, file://) or garbage
            return False
        if origin in self.trusted:
            return True
        host = headers.get("host", "").lower()
        return bool(host) and urlsplit(origin).netloc == host

    async def _bounded(self, headers, receive, scope, send):
        """Read the whole body up to the limit and replay it; None after answering 413."""
        limit = self.options.max_json_body_bytes
        too_large = _json(413, {"error": f"Request body exceeds {limit} bytes"})
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await too_large(scope, receive, send)
            return None
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await too_large(scope, receive, send)
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    def _with_headers(self, scope, send, guarded: bool):
        path = scope.get("path", "")
        https = scope.get("scheme") == "https"

        async def wrapped(message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                names = {k.lower() for k, _ in raw}
                content_type = next(
                    (v.decode("latin-1") for k, v in raw if k.lower() == b"content-type"), ""
                )
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                if content_type.startswith("text/html"):
                    csp = _DOCS_CSP if path in ("/docs", "/redoc") else _STRICT_CSP
                    extra += [
                        (b"content-security-policy", csp.encode()),
                        (b"cross-origin-opener-policy", b"same-origin"),
                    ]
                if guarded:
                    extra.append((b"cache-control", b"no-store"))
                if https:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                raw += [(k, v) for k, v in extra if k not in names]
                message = {**message, "headers": raw}
            await send(message)

        return wrapped


def _json(status: int, body: dict) -> JSONResponse:
    return JSONResponse(body, status_code=status)
