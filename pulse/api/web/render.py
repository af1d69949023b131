"""Template rendering for the web dashboard: the Jinja2 environment (autoescape on for every
template), display filters, and the per-request page context (who is signed in, the project in
the URL and the user's role in it, the CSRF token).

Access rule: every page and fragment under ``/dashboard/p/<project_id>/`` resolves the session
cookie and the membership of that project server-side (:func:`page_context`); a non-member gets
the same 404 as an unknown project, so project ids cannot be probed.

CSRF: state-changing forms carry ``csrf`` = SHA-256("csrf:" + session token). The token is only
derivable from the HttpOnly session cookie, so another site cannot forge it; it adds to the
session cookie's ``SameSite=Lax`` and the Origin check of :mod:`pulse.api.security`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID

import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from pulse.api.deps import services, session_token
from pulse.api.web import details
from pulse.storage import accounts, auth_sessions

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
SIGN_IN = "/dashboard/sign-in"
SIGN_UP = "/dashboard/sign-up"


class SignInRequired(Exception):
    """No live session: pages redirect to the sign-in form, fragments answer 401."""

    def __init__(self, next_url: str, fragment: bool = False) -> None:
        super().__init__(next_url)
        self.next_url = next_url
        self.fragment = fragment


class PageError(Exception):
    """An HTML error page (404 for unknown or foreign ids, 403 for non-admins, 400)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class PageContext:
    request: Request
    user: auth_sessions.SessionInfo
    token: str
    projects: list[dict[str, Any]]
    project: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def project_id(self) -> UUID:
        assert self.project is not None
        return self.project["id"]

    @property
    def is_admin(self) -> bool:
        return self.project is not None and self.project["role"] == "admin"

    @property
    def base(self) -> str:
        return f"/dashboard/p/{self.project_id}"

    @property
    def csrf(self) -> str:
        return csrf_token(self.token)

    @property
    def pool(self):
        return services(self.request).pool

    @property
    def reads(self):
        """The pool of the page's read queries (a replica when configured)."""
        return services(self.request).reads


def csrf_token(session: str) -> str:
    return hashlib.sha256(f"csrf:{session}".encode()).hexdigest()[:40]


def check_csrf(ctx: PageContext, submitted: str | None) -> None:
    if not submitted or not hmac.compare_digest(submitted, ctx.csrf):
        raise PageError(403, "This form has expired. Reload the page and try again.")


async def signed_in(request: Request, fragment: bool = False) -> tuple[str, Any]:
    token = session_token(request) or ""
    info = await auth_sessions.session_user(services(request).pool, token) if token else None
    if info is None:
        raise SignInRequired(request.url.path, fragment)
    return token, info


async def page_context(
    request: Request, project_id: str | None = None, fragment: bool = False
) -> PageContext:
    """Session + memberships; with ``project_id`` also the membership check (404 if none)."""
    token, info = await signed_in(request, fragment)
    projects = await accounts.user_projects(services(request).pool, info.user_id)
    ctx = PageContext(request, info, token, projects)
    if project_id is not None:
        try:
            wanted = UUID(project_id)
        except ValueError:
            raise PageError(404, "Project not found") from None
        ctx.project = next((p for p in projects if p["id"] == wanted), None)
        if ctx.project is None:
            raise PageError(404, "Project not found")
    return ctx


# -- filters ---------------------------------------------------------------------------------


def fmt_cents(value: Any) -> str:
    """Dollars from cents: two significant digits below a cent ($0.00079), so a cheap call never
    reads as free; cents below $100; whole dollars above."""
    if value is None:
        return "–"
    dollars = float(value) / 100
    if dollars == 0:
        return "$0"
    if abs(dollars) < 0.01:
        digits = min(12, 1 - math.floor(math.log10(abs(dollars))))
        return f"${float(f'{dollars:.2g}'):.{digits}f}".rstrip("0")
    if abs(dollars) < 100:
        return f"${dollars:,.2f}"
    return f"${dollars:,.0f}"


def fmt_num(value: Any) -> str:
    if value is None:
        return "–"
    v = float(value)
    if abs(v) >= 1e6:
        return f"{v / 1e6:.1f}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.1f}k"
    return f"{int(v):,}" if v == int(v) else f"{v:,.1f}"


def fmt_ms(value: Any) -> str:
    if value is None:
        return "–"
    ms = float(value)
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    if ms < 3_600_000:
        return f"{int(ms // 60_000)}m {int(ms % 60_000 / 1000)}s"
    return f"{int(ms // 3_600_000)}h {int(ms % 3_600_000 // 60_000)}m"


def parse_ts(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def fmt_ts(value: str | None, seconds: bool = True, now: datetime | None = None) -> str:
    """UTC time; the year is shown when it is not the current one."""
    t = parse_ts(value)
    if t is None:
        return "–"
    t = t.astimezone(UTC)
    day = "%b %d" if t.year == (now or datetime.now(UTC)).year else "%b %d %Y"
    return t.strftime(day + (" %H:%M:%S" if seconds else " %H:%M"))


def fmt_pct(value: Any) -> str:
    return "–" if value is None else f"{float(value):.1f}%"


def to_json_pretty(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def short(value: Any, n: int = 8) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= n + 1 else text[:n] + "…"


def urlq(value: Any) -> str:
    """One path segment; "." and ".." are encoded too, or clients would resolve them away."""
    text = quote(str(value), safe="")
    return text.replace(".", "%2E") if text.strip(".") == "" else text


env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(
    cents=fmt_cents, num=fmt_num, ms=fmt_ms, ts=fmt_ts, pct=fmt_pct, pretty=to_json_pretty,
    short=short, urlq=urlq, text_blocks=details.text_blocks, fields=details.fields,
)


def render(name: str, ctx: PageContext | None, status: int = 200, **values: Any) -> HTMLResponse:
    """Render a template; ``ctx`` supplies the shell (user, project switcher, nav)."""
    html = env.get_template(name).render(ctx=ctx, **(ctx.extra if ctx else {}), **values)
    # "same-origin", not the middleware's "no-referrer": under no-referrer Chromium sends
    # ``Origin: null`` on same-origin form POSTs, which the Origin check rightly refuses.
    # Cross-origin requests still get no Referer (no trace ids leak to other sites).
    headers = {"Referrer-Policy": "same-origin", "Cache-Control": "no-store"}
    return HTMLResponse(html, status_code=status, headers=headers)


def endpoint(request: Request) -> str:
    """The base URL clients should send to: this request's scheme and host."""
    return str(request.base_url).rstrip("/")
