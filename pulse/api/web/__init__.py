"""The web dashboard (issue 7): server-rendered Jinja2 pages under ``/dashboard``, static files
under ``/static`` (own CSS/JS and the vendored uPlot, see ``static/vendor/README.md``).

:func:`install` is the one call ``app.py`` makes: routers, the static mount and the two
exception handlers that turn "not signed in" into a redirect (pages) or a 401 (fragments) and
page errors into HTML error pages. Pages read through ``pulse.storage`` only.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from pulse.api.routes.auth import SignInLimits
from pulse.api.security import AuthOptions
from pulse.api.web import admin, pages, sessions
from pulse.api.web.render import STATIC, PageError, SignInRequired, page_context, render


def install(app: FastAPI, options: AuthOptions, limits: SignInLimits | None = None) -> None:
    app.include_router(admin.router(options, limits))
    app.include_router(pages.router())
    app.include_router(sessions.router())
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(SignInRequired)
    async def sign_in_required(_: Request, exc: SignInRequired) -> Response:
        if exc.fragment:
            return HTMLResponse("<p>Signed out.</p>", status_code=401)
        return admin.sign_in_redirect(exc.next_url)

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        try:
            ctx = await page_context(request)
        except SignInRequired:
            ctx = None
        return render("error.html", ctx, exc.status, code=exc.status, message=exc.message)
