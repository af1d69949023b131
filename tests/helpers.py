"""Small test utilities shared by the suites."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout: float = 10.0
) -> T:
    """Poll ``probe`` until ``done(result)``; return the last result (the caller asserts on it).

    ``/async`` and OTLP ingest answer once data is durable in the local queue; the writer loop
    stores it shortly after. Tests poll instead of sleeping a fixed time.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if done(result) or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.02)


async def get_when(http, url: str, headers: dict, status: int = 200, timeout: float = 10.0):
    """GET ``url`` until it answers ``status`` (or the timeout passes); return the response."""
    return await eventually(
        lambda: http.get(url, headers=headers), lambda r: r.status_code == status, timeout
    )
