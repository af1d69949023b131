"""Hostile values over every transport (issue 11): OTLP/HTTP JSON, OTLP/HTTP protobuf, OTLP gRPC
and the native routes, against a real server with its own pipeline.

Hypothesis generates exports whose attributes carry huge strings (incompressible, multi-byte),
NaN and infinities, negative and 64-bit token counts, uint64-max and pre-1970 timestamps, deep
nesting and lone surrogates. Oracle: no 5xx (gRPC: no INTERNAL/UNKNOWN), the server stays up,
and the writer is not stalled: a normal span from another project sent afterwards lands.
On the code before issue 11 the first huge identifier stalls the writer (defect 1) and the
oracle fails.
"""

from __future__ import annotations

import contextlib
import json
import random
import string
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import grpc
import httpx
from google.protobuf.json_format import ParseDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from pulse.main import build_app, grpc_receiver, ingest_pipeline
from tests.conftest import make_project, settings_for
from tests.e2e.test_poison import b_counts, chat_span, traces_body
from tests.factories import span_item, trace_item
from tests.helpers import eventually
from tests.support.otlp import serve

EXAMPLES = 40
KEYS = ["gen_ai.request.model", "gen_ai.response.model", "gen_ai.provider.name",
        "gen_ai.tool.name", "gen_ai.conversation.id", "gen_ai.agent.name", "session.id",
        "gen_ai.response.finish_reasons", "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens", "gen_ai.tool.call.id", "gen_ai.response.id"]
OPERATIONS = ["chat", "execute_tool", "invoke_agent", "text_completion", "embeddings"]

ALPHABETS = (string.ascii_letters + string.digits, string.ascii_letters + "é中😀\u0000")


def noise(seed: int, size: int, alphabet: str) -> str:
    """Incompressible text: PostgreSQL compresses index tuples, so repetitive text would fit."""
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(size))


huge = st.builds(noise, st.integers(0, 2**32), st.integers(600, 3000), st.sampled_from(ALPHABETS))
strings = st.one_of(huge, st.text(max_size=20))  # one_of favours its first branch
numbers = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity"]).map(lambda v: {"doubleValue": v}),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda v: {"doubleValue": v if v == v and abs(v) != float("inf") else "NaN"}),
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(lambda v: {"intValue": str(v)}),
)
NORMAL_TS = "1787220000000000000"  # 2026-08-20
timestamps = st.sampled_from([NORMAL_TS] * 6 + [str(2**64 - 1), "1", "0", str(2**63)])


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"stringValue": "leaf"}
    for _ in range(depth):
        value = {"kvlistValue": {"values": [{"key": "k", "value": value}]}}
    return value


values = st.one_of(strings.map(lambda s: {"stringValue": s}), numbers,
                   st.integers(min_value=1, max_value=5).map(nested))


@st.composite
def hostile_span(draw) -> dict[str, Any]:
    attrs = [{"key": "gen_ai.operation.name",
              "value": {"stringValue": draw(st.sampled_from(OPERATIONS))}}]
    for key in draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=5, unique=True)):
        attrs.append({"key": key, "value": draw(values)})
    if draw(st.sampled_from([False] * 7 + [True])):  # now and then nesting beyond the limit
        attrs.append({"key": "deep", "value": nested(draw(st.integers(90, 150)))})
    if draw(st.sampled_from([False] * 7 + [True])):  # a lone surrogate (invalid UTF-16)
        attrs.append({"key": "gen_ai.request.model", "value": {"stringValue": "\ud800"}})
    start = draw(timestamps)
    return {"traceId": uuid.uuid4().hex, "spanId": uuid.uuid4().hex[:16], "name": "chat",
            "startTimeUnixNano": start, "endTimeUnixNano": start,
            "attributes": attrs}


@st.composite
def hostile_native(draw) -> dict[str, Any]:
    item = trace_item()
    field = draw(st.sampled_from(["model_requested", "model_used", "session_id",
                                  "input_tokens", "timestamp", "latency_ms", "finish_reason"]))
    item[field] = draw(st.one_of(huge, st.integers(min_value=-(2**64), max_value=2**64),
                                 st.floats(allow_nan=False), st.sampled_from(
                                     ["2300-01-01T00:00:00Z", "0001-01-01T00:00:00Z",
                                      "1970-01-01T00:00:00Z"])))
    return item


def generate() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Hypothesis draws the hostile inputs (no shrinking: the network part runs afterwards)."""
    drawn: list[tuple[dict[str, Any], dict[str, Any]]] = []

    @settings(max_examples=EXAMPLES, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(hostile_span(), min_size=1, max_size=3), hostile_native())
    def draw(spans, native):
        drawn.append((traces_body(*spans), native))

    draw()
    return drawn


def as_protobuf(body: dict[str, Any]) -> bytes | None:
    """The export as protobuf, when protobuf can carry it (lone surrogates cannot)."""
    try:
        return ParseDict(body, ExportTraceServiceRequest()).SerializeToString()
    except Exception:  # noqa: BLE001 - not representable in protobuf: JSON only
        return None


@contextlib.asynccontextmanager
async def private_service(backend, pool, tmp_path) -> AsyncIterator[tuple[str, str, Any]]:
    settings = replace(settings_for(backend), writer_linger_ms=5, shutdown_timeout_s=1)
    async with ingest_pipeline(settings, pool, tmp_path / "queue") as pipeline:
        app = build_app(settings, pool, pipeline)
        async with grpc_receiver(settings, pipeline.ingestor, app.state.keys) as receiver:
            async for url in serve(app):
                yield url, f"127.0.0.1:{receiver.port}", pipeline


async def test_hostile_values_on_every_transport_never_5xx_nor_stall_the_writer(
    backend, pool, tmp_path
):
    a = await make_project(pool, "fuzz-a")
    b = await make_project(pool, "fuzz-b")
    failures: list[str] = []
    async with (
        private_service(backend, pool, tmp_path) as (url, target, pipeline),
        httpx.AsyncClient(base_url=url, timeout=60) as http,
        grpc.aio.insecure_channel(target) as channel,
    ):
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        metadata = (("authorization", f"Bearer {a.key}"),)
        for n, (body, native) in enumerate(generate()):
            text = json.dumps(body, allow_nan=False).encode("utf-8", "surrogatepass")
            r = await http.post("/v1/traces", content=text, headers={
                **a.headers, "Content-Type": "application/json"})
            if r.status_code >= 500:
                failures.append(f"#{n} OTLP/JSON {r.status_code}: {r.text[:200]}")
            proto = as_protobuf(body)
            if proto is not None:
                r = await http.post("/v1/traces", content=proto, headers={
                    **a.headers, "Content-Type": "application/x-protobuf"})
                if r.status_code >= 500:
                    failures.append(f"#{n} OTLP/protobuf {r.status_code}: {r.text[:200]}")
                try:
                    await stub.Export(ExportTraceServiceRequest.FromString(proto),
                                      metadata=metadata, timeout=60)
                except grpc.aio.AioRpcError as exc:
                    if exc.code() not in (grpc.StatusCode.INVALID_ARGUMENT,):
                        failures.append(f"#{n} gRPC {exc.code()}: {exc.details()}")
            for route in ("/v1/traces/async", "/v1/spans/async"):
                item = native if route == "/v1/traces/async" else span_item(
                    session_id=native.get("session_id") or "s")
                r = await http.post(route, content=json.dumps([item]).encode(
                    "utf-8", "surrogatepass"), headers={**a.headers,
                                                        "Content-Type": "application/json"})
                if r.status_code >= 500:
                    failures.append(f"#{n} native {route} {r.status_code}: {r.text[:200]}")
        assert (await http.get("/health")).status_code == 200
        # the writer is not stalled: B's normal data, sent last, lands
        r = await http.post("/v1/traces", json=traces_body(chat_span()), headers=b.headers)
        assert r.status_code == 200, r.text
        got = await eventually(lambda: b_counts(pool, b), lambda c: c == (1, 0), timeout=60)
        assert got == (1, 0), f"the writer is stalled: queue depth {pipeline.queue.depth()}"
    assert failures == []
