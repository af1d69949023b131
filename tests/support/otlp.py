"""Helpers for the OTLP tests (receivers and end to end): fixture bodies in both encodings,
posting exports, reading rows back through the query API, comparing stored rows."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

import tests.conftest as shared
from pulse.pipeline import IngestMetrics, Ingestor, Mapper, Store
from pulse.queue import HEADER, MemoryQueue
from tests.helpers import eventually
from tests.mapping.golden import decode, fixtures, signal_of

PROTO, JSON = "application/x-protobuf", "application/json"
FIXTURES = fixtures()


def fixture(prefix: str) -> Path:
    """The golden OTLP fixture whose name starts with ``prefix`` (e.g. "06-")."""
    return next(p for p in FIXTURES if p.stem.startswith(prefix))


async def serve(app: FastAPI) -> AsyncIterator[str]:
    """A real uvicorn server for ``app`` on a free loopback port; yields its base URL."""
    port = shared.free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    srv = shared._QuietServer(config)
    task = asyncio.create_task(srv.serve())
    while not srv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        await task


def body_of(path: Path, encoding: str) -> tuple[str, bytes]:
    """(route, body) of a golden fixture as OTLP/JSON or re-encoded as protobuf."""
    raw = path.read_bytes()
    route = f"/v1/{signal_of(json.loads(raw))}"
    if encoding == JSON:
        return route, raw
    return route, decode(path, "protobuf")[1].SerializeToString()


async def post(client, project, route: str, body: bytes, ctype: str = PROTO, **headers):
    return await client.post(
        route, content=body, headers={**project.headers, "Content-Type": ctype, **headers}
    )


async def rows(client, project, kind: str) -> list[dict[str, Any]]:
    r = await client.get(f"/v1/{kind}", params={"limit": 1000}, headers=project.headers)
    assert r.status_code == 200, r.text
    return r.json()[kind]


async def wait_rows(client, project, traces: int, spans: int) -> tuple[list, list]:
    """Poll until the project has ``traces``/``spans`` rows (ingest is queue-backed)."""

    async def probe():
        return await rows(client, project, "traces"), await rows(client, project, "spans")

    got = await eventually(probe, lambda r: len(r[0]) >= traces and len(r[1]) >= spans)
    assert (len(got[0]), len(got[1])) == (traces, spans)
    return got


async def drained(pipeline) -> None:
    """Wait until the writer loop has stored everything queued so far."""
    queue = pipeline.queue
    await eventually(lambda: asyncio.sleep(0, queue.depth()), lambda depth: depth == 0)


def comparable(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Rows without their project, ordered by id: equal when the stored data is equal."""
    return sorted(({k: v for k, v in r.items() if k != "projectId"} for r in items),
                  key=lambda r: r[key])


def partial(resp: httpx.Response) -> dict[str, Any]:
    """The response's partialSuccess as a dict (JSON or protobuf answers)."""
    if resp.headers["content-type"].startswith(JSON):
        return resp.json().get("partialSuccess", {})
    msg = ExportTraceServiceResponse()
    msg.ParseFromString(resp.content)
    if not msg.HasField("partial_success"):
        return {}
    ps = msg.partial_success
    return {"rejectedSpans": str(ps.rejected_spans), "errorMessage": ps.error_message}


def generic_span_request() -> ExportTraceServiceRequest:
    """One HTTP-handler span: neither an LLM call nor agent activity (dropped by default)."""
    req = ExportTraceServiceRequest()
    span = req.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
    span.span_id = bytes.fromhex("b7ad6b7169203331")
    span.name = "GET /health"
    span.start_time_unix_nano = 1787220000000000000
    span.end_time_unix_nano = 1787220000100000000
    return req


async def _never(*args: Any) -> None:
    raise AssertionError("nothing may reach storage when the queue refuses")


async def full_ingestor() -> Ingestor:
    """A real ingest entry in front of a full queue (no writer loop drains it): every export
    that keeps something is refused with ``Overloaded``."""
    queue = MemoryQueue(max_bytes=1 << 20)  # any export fits the bound, none fits beside...
    await queue.append(bytes((1 << 20) - HEADER.size))  # ...this un-acked entry
    return Ingestor(queue, Mapper(0), Store(_never, _never, _never), IngestMetrics())
