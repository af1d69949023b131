"""The FastAPI application: routers, and one error shape for every failure (docs/api.md §Errors).

``create_app`` takes already-built services (pool, authenticator, extra routers such as the
receivers' ingest routes) from ``main``; it builds nothing long-lived itself.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable

import psycopg
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from pulse import __version__
from pulse.api import openapi
from pulse.api.deps import Services, project_access
from pulse.api.routes import analytics, auth, dashboard, health, sessions, spans, traces
from pulse.api.security import AuthOptions, SecurityMiddleware
from pulse.api.web import install as install_web
from pulse.errors import PulseError

log = logging.getLogger("pulse.api")
_SURROGATE = re.compile("[\ud800-\udfff]")


class ErrorJSON(JSONResponse):
    """The error shape, rendered so that a lone surrogate quoted from the request (not encodable
    as UTF-8) becomes U+FFFD instead of failing the error answer itself with a 500."""

    def render(self, content: object) -> bytes:
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")


def error_response(exc: PulseError) -> JSONResponse:
    headers = {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return ErrorJSON(exc.body(), status_code=exc.http_status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PulseError)
    async def pulse_error(_: Request, exc: PulseError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "message": e.get("msg")}
            for e in exc.errors()
        ]
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return JSONResponse({"error": "Invalid JSON body"}, 400)
        in_body = any(e.get("loc", ("",))[0] == "body" for e in exc.errors())
        message = "Validation failed" if in_body else "Invalid query parameters"
        return ErrorJSON({"error": message, "details": details}, 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, exc.detail)
        return JSONResponse({"error": message}, exc.status_code, headers=exc.headers)

    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(PoolTimeout)
    async def db_down(_: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        return JSONResponse(
            {"error": "Database unavailable, retry later"}, 503, headers={"Retry-After": "5"}
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "Internal server error"}, 500)


def create_app(
    svc: Services,
    authenticate,
    extra_routers: Iterable[APIRouter] = (),
    *,
    read_routes: bool = True,
    auth_options: AuthOptions | None = None,
) -> FastAPI:
    """``read_routes`` also mounts the dashboard: accounts, sign-in, and the same read routers
    under ``/dashboard/api`` scoped by session + ``X-Project-Id`` membership."""
    options = auth_options or AuthOptions()
    app = FastAPI(
        title="Pulse Bridge",
        version=__version__,
        description="OpenTelemetry-native trace service for LLM applications and coding agents.",
    )
    app.state.services = svc
    install_error_handlers(app)
    app.include_router(health.router)
    for extra in extra_routers:
        app.include_router(extra)
    if read_routes:
        app.include_router(traces.router(authenticate))
        app.include_router(spans.router(authenticate))
        app.include_router(sessions.router(authenticate))
        app.include_router(analytics.router(authenticate, prefix="/v1"))
        # one set of sign-in throttles for the API route and the dashboard's sign-in form
        signin_limits = auth.SignInLimits(options)
        app.include_router(auth.router(options, signin_limits))
        app.include_router(dashboard.router(options))
        for factory in (traces.router, spans.router, sessions.router, analytics.router):
            app.include_router(factory(project_access, prefix="/dashboard/api"))
        install_web(app, options, signin_limits)  # the web dashboard: /dashboard pages, /static
    app.add_middleware(SecurityMiddleware, options=options)
    openapi.install(app)
    return app
