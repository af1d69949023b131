"""Sign-in, sign-out and session routes under ``/api/auth`` (better-auth compatible,
docs/api.md §Dashboard API), and ``GET /dashboard/login`` which consumes a one-time login link from
``pulse-bridge dashboard-login``.

Sign-in is throttled per IP (every attempt counts), per account and address and per account
(failures count; see :class:`SignInLimits`), checked before the password is, with 429 and
``Retry-After``. An unknown email and a wrong password get the same 401 body after the same
argon2 work. ``get-session`` answers ``null`` without a live session, as better-auth does; it
also accepts the token as ``Authorization: Bearer``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from pulse.api.auth_schemas import (
    GetSessionOut,
    SessionOut,
    SignInBody,
    SignInOut,
    Success,
    UserOut,
    errors,
    iso,
)
from pulse.api.deps import Services, services, session_token
from pulse.api.security import (
    AuthOptions,
    RateLimiter,
    clear_session_cookie,
    client_ip,
    is_loopback_client,
    set_session_cookie,
)
from pulse.errors import Forbidden, PulseError, Unauthorized
from pulse.storage import accounts, auth_sessions

INVALID_CREDENTIALS = "Invalid email or password"


class TooManyRequests(PulseError):
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def user_out(info: auth_sessions.SessionInfo) -> UserOut:
    return UserOut(
        id=str(info.user_id), email=info.email, name=info.name,
        createdAt=iso(info.user_created_at), updatedAt=iso(info.user_updated_at),
    )


class SignInLimits:
    """The sign-in throttles of one app, checked before the password is:

    * per address: every attempt counts (``signin_ip_limit`` per minute), spraying many accounts;
    * per account *and* address: failures count, half the account's allowance - the guessing
      address is locked out of that account first;
    * per account, from all addresses: failures count (``signin_account_limit`` per 15 minutes),
      distributed guessing.

    So one address guessing one password after another is stopped before the account-wide lock,
    and the real owner can still sign in from another address."""

    def __init__(self, options: AuthOptions) -> None:
        self.ip = RateLimiter(options.signin_ip_limit, options.signin_ip_window_s)
        self.account = RateLimiter(options.signin_account_limit, options.signin_account_window_s)
        self.pair = RateLimiter(
            max(1, options.signin_account_limit // 2), options.signin_account_window_s
        )

    def check(self, ip: str, email: str) -> None:
        pair = f"{email}\x00{ip}"
        limits = ((self.ip, ip), (self.pair, pair), (self.account, email))
        waits = [w for w in (limiter.retry_after(key) for limiter, key in limits) if w]
        if waits:
            raise TooManyRequests("Too many sign-in attempts, retry later", max(waits))
        self.ip.hit(ip)

    def failed(self, ip: str, email: str) -> None:
        self.account.hit(email)
        self.pair.hit(f"{email}\x00{ip}")

    def succeeded(self, ip: str, email: str) -> None:
        self.account.reset(email)
        self.pair.reset(f"{email}\x00{ip}")


async def start_session(
    request: Request, response: Response, pool, user_id, options: AuthOptions
) -> tuple[str, auth_sessions.SessionInfo]:
    token, info = await auth_sessions.create_session(
        pool, user_id, options.session_lifetime_s, client_ip(request),
        request.headers.get("user-agent"),
    )
    set_session_cookie(response, request, token, options.session_lifetime_s)
    return token, info


def router(options: AuthOptions, limits: SignInLimits | None = None) -> APIRouter:
    """``limits``: the app's sign-in throttles, shared with the dashboard's sign-in form."""
    r = APIRouter(tags=["auth"])
    limits = limits or SignInLimits(options)

    @r.post(
        "/api/auth/sign-in/email", response_model=SignInOut,
        responses=errors(400, 401, 403, 413, 429, 503),
    )
    async def sign_in(
        body: SignInBody, request: Request, response: Response,
        svc: Services = Depends(services),
    ) -> SignInOut:
        """Email and password sign-in; sets the ``better-auth.session_token`` cookie."""
        account, ip = body.email.strip().lower(), client_ip(request)
        limits.check(ip, account)
        user = await accounts.user_by_email(svc.pool, body.email) if account else None
        stored = user["password_hash"] if user else None
        if not await auth_sessions.verify_password(stored, body.password):
            limits.failed(ip, account)
            raise Unauthorized(INVALID_CREDENTIALS)
        limits.succeeded(ip, account)
        token, info = await start_session(request, response, svc.pool, user["id"], options)
        return SignInOut(token=token, user=user_out(info))

    @r.post("/api/auth/sign-out", response_model=Success, responses=errors(403, 413, 503))
    async def sign_out(
        request: Request, response: Response, svc: Services = Depends(services)
    ) -> Success:
        """Revokes the session server-side (the token stops working at once) and clears the
        cookie. Answers success without a session too (idempotent)."""
        token = session_token(request)
        if token:
            await auth_sessions.revoke_session(svc.pool, token)
        clear_session_cookie(response, request)
        return Success(success=True)

    @r.get("/api/auth/get-session", response_model=GetSessionOut | None, responses=errors(503))
    async def get_session(
        request: Request, svc: Services = Depends(services)
    ) -> GetSessionOut | None:
        """The live session and its user, or ``null`` (200) without one."""
        token = session_token(request)
        info = await auth_sessions.session_user(svc.pool, token) if token else None
        if info is None:
            return None
        return GetSessionOut(
            session=SessionOut(
                id=str(info.session_id), userId=str(info.user_id),
                expiresAt=iso(info.expires_at), createdAt=iso(info.created_at),
            ),
            user=user_out(info),
        )

    @r.get(
        "/dashboard/login", response_class=RedirectResponse, status_code=303,
        responses=errors(401, 403, 503),
    )
    async def login_link(
        request: Request, token: str = "", svc: Services = Depends(services)
    ) -> Response:
        """Consume a one-time link from ``pulse-bridge dashboard-login`` (loopback clients only):
        sets the session cookie and redirects to ``/dashboard``."""
        if not is_loopback_client(request):
            raise Forbidden("Forbidden: login links work only from this machine")
        user_id = await auth_sessions.consume_login_link(svc.pool, token)
        if user_id is None:
            return JSONResponse({"error": "Invalid or expired login link"}, 401)
        response = RedirectResponse("/dashboard", status_code=303)
        await start_session(request, response, svc.pool, user_id, options)
        return response

    return r
