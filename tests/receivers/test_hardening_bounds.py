"""Bounds that hold against held-open and idle connections (issue 11, defect 3).

* Connections that send headers declaring a 20 MB body and then nothing hold no budget: a
  normal request still gets through, and the held ones get 408 after the body read timeout.
* 1,100 idle connections that sent half a request line: a normal request still gets an
  answer (a fast 503 from the connection cap, or a success), never a hang.

Real uvicorn servers built by :func:`pulse.main.http_server_config` (what ``serve`` uses)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import resource

import httpx
import pytest

import tests.conftest as shared
from pulse.main import build_app, http_server_config
from tests.factories import span_item


@contextlib.asynccontextmanager
async def running(settings, pool, pipeline):
    app = build_app(settings, pool, pipeline)
    port = shared.free_port()
    server = shared._QuietServer(http_server_config(settings, app, port=port))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield port
    finally:
        server.should_exit = True
        await task


async def hold_body(port: int, key: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"POST /v1/spans/async HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                  "Content-Type: application/json\r\nContent-Length: 20000000\r\n\r\n[").encode())
    await writer.drain()
    return reader, writer


async def test_declared_but_unsent_bodies_hold_no_budget(backend, pool, pipeline, project):
    settings = dataclasses.replace(shared.settings_for(backend), max_inflight_bytes=1 << 20,
                                   max_request_body_bytes=32 << 20, http_body_timeout_s=2)
    async with running(settings, pool, pipeline) as port:
        held = [await hold_body(port, project.key) for _ in range(14)]
        await asyncio.sleep(0.3)  # let the server admit them all
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            r = await c.post("/v1/spans/async", json=[span_item()], headers=project.headers)
            assert r.status_code == 202, r.text
        for reader, writer in held:  # cut off by the body read timeout, with a JSON 408
            head = await asyncio.wait_for(reader.read(4096), 30)
            assert head.startswith(b"HTTP/1.1 408"), head[:200]
            assert b"Request body not received" in head
            writer.close()


async def test_1100_idle_connections_do_not_hang_a_normal_request(backend, pool, pipeline,
                                                                  project):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * 1100 + 512  # both ends live in this process
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"the hard open-file limit {hard} is below {need}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    settings = dataclasses.replace(shared.settings_for(backend), http_max_connections=1000)
    idle: list[asyncio.StreamWriter] = []
    try:
        async with running(settings, pool, pipeline) as port:
            for _ in range(1100):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /hea")
                idle.append(writer)
            await asyncio.gather(*(w.drain() for w in idle))
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
                for path in ("/health", "/v1/traces"):
                    r = await c.get(path, headers=project.headers)
                    assert r.status_code in (200, 503), (path, r.status_code, r.text)
            for w in idle:
                w.close()
    finally:
        for w in idle:
            w.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
