"""``X-Forwarded-For`` is believed only from configured proxies (issue 11, defect 7): by default
a client on loopback (e.g. behind a local proxy) cannot rotate the header past the per-address
sign-in throttle; with ``PULSE_TRUSTED_PROXIES=127.0.0.1`` the proxy's header names the client.

Each case runs the app on a real uvicorn server built by :func:`pulse.main.http_server_config`,
the function ``serve`` uses, with its own app (its own throttles)."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest

import tests.conftest as shared
from pulse.main import build_app, http_server_config
from tests.accounts_fixtures import fresh_email, fresh_ip


async def spray(settings, pool, pipeline, attempts: int) -> list[int]:
    app = build_app(settings, pool, pipeline)
    port = shared.free_port()
    server = shared._QuietServer(http_server_config(settings, app, port=port))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        statuses = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            for _ in range(attempts):  # a new forwarded address and account every time
                r = await c.post("/api/auth/sign-in/email",
                                 json={"email": fresh_email(), "password": "guess"},
                                 headers={"X-Forwarded-For": fresh_ip()})
                statuses.append(r.status_code)
        return statuses
    finally:
        server.should_exit = True
        await task


@pytest.mark.parametrize("trusted, expected", [
    ((), [401] * 3 + [429] * 2),  # default: the header is ignored, one address (loopback)
    (("127.0.0.1",), [401] * 5),  # the proxy is trusted: five different clients
    (("10.0.0.0/8",), [401] * 3 + [429] * 2),  # a proxy elsewhere: loopback is not it
])
async def test_forwarded_for_only_from_trusted_proxies(backend, pool, pipeline, trusted, expected):
    settings = dataclasses.replace(shared.settings_for(backend), signin_ip_limit=3,
                                   trusted_proxies=trusted)
    assert await spray(settings, pool, pipeline, 5) == expected
