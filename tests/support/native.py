"""Helpers for the tests of the native ingest routes (``POST /v1/traces|spans/async|batch``)."""

from __future__ import annotations

import asyncio
import json

from tests.factories import span_item, trace_item

TRACE_ROUTES = ["/v1/traces/async", "/v1/traces/batch"]
SPAN_ROUTES = ["/v1/spans/async", "/v1/spans/batch"]
INGEST_ROUTES = TRACE_ROUTES + SPAN_ROUTES
JSON_CT = {"Content-Type": "application/json"}


def body_for(route: str) -> list:
    """A valid one-item body for ``route``."""
    return [trace_item()] if "/traces/" in route else [span_item()]


async def call(http, route: str, headers: dict, content: bytes | None = None):
    """POST ``content`` (default: a valid body) to an ingest route, or GET any other route."""
    if route in INGEST_ROUTES:
        data = content if content is not None else json.dumps(body_for(route)).encode()
        return await http.post(route, content=data, headers={**JSON_CT, **headers})
    return await http.get(route, headers=headers)


def raw(value) -> bytes:
    """JSON text with ASCII escapes (so lone surrogates survive as \\ud800)."""
    return json.dumps(value, ensure_ascii=True).encode()


def assert_error(r, status: int) -> dict:
    """``r`` is the one JSON error shape with ``status``; returns the body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"]
    return body


async def fetch(http, project, kind: str, item_id: str, *, wait: float = 3.0):
    """GET /v1/{kind}/{id}, polling briefly (the async routes promise "readable within 1 s")."""
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        r = await http.get(f"/v1/{kind}/{item_id}", headers=project.headers)
        if r.status_code != 404 or asyncio.get_running_loop().time() > deadline:
            return r
        await asyncio.sleep(0.05)


async def total(http, project, kind: str, **params) -> int:
    r = await http.get(f"/v1/{kind}", params=params, headers=project.headers)
    assert r.status_code == 200, r.text
    return r.json()["total"]

