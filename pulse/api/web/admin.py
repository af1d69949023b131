"""Account pages of the dashboard: sign-in / sign-out forms, the project landing redirect, new
projects, and the admin-only API keys and Members pages.

Forms post ``application/x-www-form-urlencoded`` to these handlers, which call the same storage
functions as the JSON routes (``/api/auth/*``, ``/dashboard/api/*``) and the same throttles and
validation models. State-changing forms are guarded three ways: the session cookie is
``SameSite=Lax``, :class:`pulse.api.security.SecurityMiddleware` refuses cross-origin POSTs under
``/dashboard/``, and each form carries the session-bound CSRF token (render.py).
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from pulse.api.auth_schemas import NewUserBody, ProjectBody, SignUpBody
from pulse.api.deps import services, session_token
from pulse.api.routes.auth import INVALID_CREDENTIALS, SignInLimits, TooManyRequests, start_session
from pulse.api.routes.dashboard import Conflict, add_by_email
from pulse.api.security import AuthOptions, RateLimiter, clear_session_cookie, client_ip
from pulse.api.web.render import (
    SIGN_IN,
    SIGN_UP,
    PageContext,
    PageError,
    check_csrf,
    page_context,
    render,
)
from pulse.errors import InvalidInput
from pulse.storage import accounts, auth_sessions

MAX_FIELD = 1024


async def form(request: Request) -> dict[str, str]:
    """The urlencoded body as {name: first value} (the middleware already bounded its size)."""
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[0][:MAX_FIELD] for k, v in parse_qs(body, keep_blank_values=True).items()}


def safe_next(value: str | None) -> str:
    """Only same-site dashboard paths: never an absolute or protocol-relative URL."""
    if value and value.startswith("/dashboard") and not value.startswith("//") \
            and "\\" not in value:
        return value
    return "/dashboard"


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _errors(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(map(str, e['loc'])) or 'form'}: {e['msg']}" for e in exc.errors()]


async def _admin(request: Request, project_id: str) -> PageContext:
    ctx = await page_context(request, project_id)
    if not ctx.is_admin:
        raise PageError(403, "Only project admins can manage API keys and members.")
    return ctx


def router(options: AuthOptions, limits: SignInLimits | None = None) -> APIRouter:
    """``limits``: the app's sign-in throttles, shared with ``/api/auth/sign-in/email``."""
    r = APIRouter(include_in_schema=False)
    limits = limits or SignInLimits(options)
    base = "/dashboard/p/{project_id}"

    @r.get("/", response_class=RedirectResponse)
    async def root() -> Response:
        return see_other("/dashboard")

    @r.get("/dashboard", response_class=HTMLResponse)
    async def landing(request: Request) -> Response:
        ctx = await page_context(request)
        if ctx.projects:
            return see_other(f"/dashboard/p/{ctx.projects[0]['id']}")
        return render("no_project.html", ctx)

    async def signup_open(request: Request) -> bool:
        if options.signup == "first_account":
            return not await accounts.has_users(services(request).pool)
        return options.signup == "open"

    @r.get(SIGN_IN, response_class=HTMLResponse)
    async def sign_in_form(request: Request, next: str = "", created: str = "") -> Response:
        return render("sign_in.html", None, next=safe_next(next), error=None,
                      email=created[:MAX_FIELD], created=bool(created),
                      signup=await signup_open(request))

    signups = RateLimiter(options.signup_ip_limit, 3600)

    @r.get(SIGN_UP, response_class=HTMLResponse)
    async def sign_up_form(request: Request) -> Response:
        return render("sign_up.html", None, open=await signup_open(request), errors=[],
                      values={})

    @r.post(SIGN_UP, response_class=HTMLResponse)
    async def sign_up(request: Request) -> Response:
        """Same rules as ``POST /dashboard/api/signup``: the setting, the throttle, and no hint
        whether an email was registered (either way: "sign in")."""
        data = await form(request)
        values = {k: data.get(k, "") for k in ("name", "email", "projectName")}
        if not await signup_open(request):
            return render("sign_up.html", None, 403, open=False, errors=[], values=values)
        ip = client_ip(request)
        wait = signups.retry_after(ip)
        if wait:
            return render("sign_up.html", None, 429, open=True, values=values,
                          errors=[f"Too many sign-ups from your address. Try again in {wait} s."])
        try:
            body = SignUpBody.model_validate({**values, "password": data.get("password", "")})
        except ValidationError as exc:
            return render("sign_up.html", None, 400, open=True, values=values,
                          errors=_errors(exc))
        signups.hit(ip)
        pw_hash = await auth_sessions.hash_password(body.password)
        try:
            await accounts.signup(services(request).pool, body.email, body.name, pw_hash,
                                  body.projectName, first_only=options.signup == "first_account")
        except accounts.SignupClosed:
            return render("sign_up.html", None, 403, open=False, errors=[], values=values)
        return see_other(f"{SIGN_IN}?created={quote(body.email, safe='@')}")

    @r.post(SIGN_IN, response_class=HTMLResponse)
    async def sign_in(request: Request) -> Response:
        data = await form(request)
        email, password = data.get("email", "").strip(), data.get("password", "")
        nxt = safe_next(data.get("next"))
        pool = services(request).pool
        try:
            limits.check(client_ip(request), email.lower())
        except TooManyRequests as exc:
            msg = f"Too many sign-in attempts. Try again in {exc.retry_after} s."
            return render("sign_in.html", None, 429, next=nxt, error=msg, email=email)
        user = await accounts.user_by_email(pool, email) if email else None
        stored = user["password_hash"] if user else None
        if not await auth_sessions.verify_password(stored, password):
            limits.failed(client_ip(request), email.lower())
            return render("sign_in.html", None, 401, next=nxt, error=INVALID_CREDENTIALS,
                          email=email)
        limits.succeeded(client_ip(request), email.lower())
        response = see_other(nxt)
        await start_session(request, response, pool, user["id"], options)
        return response

    @r.post("/dashboard/sign-out")
    async def sign_out(request: Request) -> Response:
        token = session_token(request)
        if token:
            await auth_sessions.revoke_session(services(request).pool, token)
        response = see_other(SIGN_IN)
        clear_session_cookie(response, request)
        return response

    @r.post("/dashboard/projects", response_class=HTMLResponse)
    async def new_project(request: Request) -> Response:
        ctx = await page_context(request)
        data = await form(request)
        check_csrf(ctx, data.get("csrf"))
        try:
            body = ProjectBody.model_validate({"name": data.get("name", "")})
        except ValidationError as exc:
            raise PageError(400, "; ".join(_errors(exc))) from None
        key = await accounts.create_owned_project(ctx.pool, ctx.user.user_id, body.name)
        ctx = await page_context(request, str(key.project_id))
        return await _keys_page(ctx, new_key=key.key, status=201)

    async def _keys_page(ctx: PageContext, new_key: str | None = None,
                         status: int = 200) -> Response:
        keys = await accounts.list_keys(ctx.pool, ctx.project_id)
        return render("keys.html", ctx, status, nav="keys", keys=keys, new_key=new_key)

    @r.get(base + "/keys", response_class=HTMLResponse)
    async def keys(request: Request, project_id: str) -> Response:
        return await _keys_page(await _admin(request, project_id))

    @r.post(base + "/keys", response_class=HTMLResponse)
    async def create_key(request: Request, project_id: str) -> Response:
        """Shows the new key once, in this response only (no redirect that could replay it)."""
        ctx = await _admin(request, project_id)
        data = await form(request)
        check_csrf(ctx, data.get("csrf"))
        name = data.get("name", "").strip()[:100] or "Default Key"
        key = await accounts.create_key(ctx.pool, ctx.project_id, name)
        return await _keys_page(ctx, new_key=key.key, status=201)

    @r.post(base + "/keys/{key_id}/revoke")
    async def revoke_key(request: Request, project_id: str, key_id: str) -> Response:
        ctx = await _admin(request, project_id)
        check_csrf(ctx, (await form(request)).get("csrf"))
        try:
            wanted = UUID(key_id)
        except ValueError:
            raise PageError(404, "API key not found") from None
        if not await accounts.revoke_project_key(ctx.pool, ctx.project_id, wanted):
            raise PageError(404, "API key not found")
        return see_other(f"{ctx.base}/keys")

    @r.get(base + "/members", response_class=HTMLResponse)
    async def members(request: Request, project_id: str) -> Response:
        ctx = await _admin(request, project_id)
        return await _members_page(ctx)

    async def _members_page(ctx, errors=(), added=None, status: int = 200) -> Response:
        rows = await accounts.project_members(ctx.pool, ctx.project_id)
        return render("members.html", ctx, status, nav="members", members=rows, errors=errors,
                      added=added)

    @r.post(base + "/members", response_class=HTMLResponse)
    async def add_member(request: Request, project_id: str) -> Response:
        ctx = await _admin(request, project_id)
        data = await form(request)
        check_csrf(ctx, data.get("csrf"))
        raw = {k: data[k] for k in ("email", "name", "password", "role") if data.get(k)}
        try:
            body = NewUserBody.model_validate(raw)
        except ValidationError as exc:
            return await _members_page(ctx, _errors(exc), status=400)
        try:  # the same answer whether the account exists or not (no enumeration)
            await add_by_email(ctx.pool, ctx.project_id, body)
        except InvalidInput:
            return await _members_page(ctx, ["A user needs a name and a password."], status=400)
        except Conflict:
            return await _members_page(ctx, ["That user is already a member."], status=409)
        return await _members_page(ctx, added=body.email, status=201)

    async def _member_change(request: Request, project_id: str, user_id: str, change) -> Response:
        ctx = await _admin(request, project_id)
        data = await form(request)
        check_csrf(ctx, data.get("csrf"))
        try:
            uid = UUID(user_id)
        except ValueError:
            raise PageError(404, "Member not found") from None
        try:
            done = await change(ctx, uid, data)
        except accounts.LastAdmin:
            return await _members_page(
                ctx, ["A project needs at least one admin: make another member admin first."],
                status=409)
        if not done:
            raise PageError(404, "Member not found")
        if uid == ctx.user.user_id:  # removed or demoted themselves: their rights changed
            return see_other(f"{ctx.base}" if data.get("role") == "user" else "/dashboard")
        return see_other(f"{ctx.base}/members")

    @r.post(base + "/members/{user_id}/role")
    async def member_role(request: Request, project_id: str, user_id: str) -> Response:
        async def change(ctx, uid, data):
            role = data.get("role", "")
            if role not in accounts.ROLES:
                raise PageError(400, "Role must be admin or user")
            return await accounts.set_member_role(ctx.pool, ctx.project_id, uid, role)
        return await _member_change(request, project_id, user_id, change)

    @r.post(base + "/members/{user_id}/remove")
    async def member_remove(request: Request, project_id: str, user_id: str) -> Response:
        async def change(ctx, uid, data):
            return await accounts.remove_member(ctx.pool, ctx.project_id, uid)
        return await _member_change(request, project_id, user_id, change)

    return r


def sign_in_redirect(next_url: str) -> RedirectResponse:
    return see_other(f"{SIGN_IN}?next={quote(next_url, safe='/')}")
