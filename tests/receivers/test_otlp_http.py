"""OTLP/HTTP receiver (docs/otlp.md): every golden fixture over protobuf and JSON, stored rows,
idempotence, compression, partial success, every error path, a bounded fuzz run.

Runs against the full application on a real uvicorn server (``server``/``http`` fixtures of
tests/conftest.py); shared helpers live in tests/support/otlp.py.
"""

from __future__ import annotations

import gzip
import json
import random
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from google.rpc import status_pb2

import tests.conftest as shared
from pulse.pipeline import Ingestor
from pulse.receivers.body import BodyLimits
from pulse.receivers.otlp_http import otlp_router
from pulse.records import ApiKeyInfo
from pulse.storage.metric_points import list_metric_points
from tests.mapping.golden import expected_path
from tests.support.otlp import (
    FIXTURES,
    JSON,
    PROTO,
    body_of,
    comparable,
    drained,
    fixture,
    full_ingestor,
    generic_span_request,
    partial,
    post,
    rows,
    serve,
    wait_rows,
)

TRACE_FIELDS = {
    "trace_id": "traceId", "provider": "provider", "model_requested": "modelRequested",
    "model_used": "modelUsed", "provider_request_id": "providerRequestId",
    "input_tokens": "inputTokens", "output_tokens": "outputTokens", "output_text": "outputText",
    "finish_reason": "finishReason", "status": "status", "session_id": "sessionId",
    "latency_ms": "latencyMs", "request_body": "requestBody", "response_body": "responseBody",
    "error": "error",
}
SPAN_FIELDS = {
    "span_id": "spanId", "parent_span_id": "parentSpanId", "session_id": "sessionId",
    "duration_ms": "durationMs", "source": "source", "kind": "kind", "event_type": "eventType",
    "status": "status", "tool_use_id": "toolUseId", "tool_name": "toolName",
    "tool_input": "toolInput", "tool_response": "toolResponse", "error": "error",
    "model": "model", "agent_name": "agentName",
}


def check_row(expected: dict, row: dict, fields: dict[str, str]) -> list[str]:
    out = []
    for snake, camel in fields.items():
        if snake not in expected:
            continue
        want, got = expected[snake], row.get(camel)
        if isinstance(want, (int, float)) and isinstance(got, (int, float)):
            ok = abs(float(want) - float(got)) < 1e-6
        else:
            ok = want == got
        if not ok:
            out.append(f"{camel}: expected {want!r}, got {got!r}")
    if "cost_cents" in expected:
        want, got = expected["cost_cents"], row.get("costCents")
        if (want is None) != (got is None) or (
            want is not None and abs(float(want) - float(got)) > 1e-6
        ):
            out.append(f"costCents: expected {want!r}, got {got!r}")
    otel = expected.get("otel") or {}
    if otel.get("trace_id") and row.get("otelTraceId") != otel["trace_id"]:
        out.append(f"otelTraceId: expected {otel['trace_id']}, got {row.get('otelTraceId')}")
    return out


def check_fixture_rows(expected: dict, traces: list[dict], spans: list[dict]) -> None:
    by_trace = {r["traceId"]: r for r in traces}
    by_span = {r["spanId"]: r for r in spans}
    problems = []
    for want in expected.get("traces", []):
        row = by_trace.get(want["trace_id"])
        problems += [f"trace {want['trace_id']} missing"] if row is None else [
            f"trace {want['trace_id']}: {p}" for p in check_row(want, row, TRACE_FIELDS)]
    for want in expected.get("spans", []):
        row = by_span.get(want["span_id"])
        problems += [f"span {want['span_id']} missing"] if row is None else [
            f"span {want['span_id']}: {p}" for p in check_row(want, row, SPAN_FIELDS)]
    assert not problems, "\n".join(problems)


# --- every golden fixture, both encodings --------------------------------------------------------


@pytest.mark.parametrize("encoding", [JSON, PROTO], ids=["json", "protobuf"])
@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
async def test_golden_fixture_stored(http, pool, pipeline, project, path: Path, encoding: str):
    expected = json.loads(expected_path(path).read_text())
    route, body = body_of(path, encoding)
    r = await post(http, project, route, body, encoding)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(encoding)
    counts = expected["counts"]
    if expected["signal"] == "metrics":  # durable in the queue, then stored by the writer loop
        await drained(pipeline)
        points = await list_metric_points(pool, project.id)
        assert len(points) == counts["metrics"]
        again = await post(http, project, route, body, encoding)
        assert again.status_code == 200
        await drained(pipeline)
        assert len(await list_metric_points(pool, project.id)) == counts["metrics"]
        return
    traces, spans = await wait_rows(http, project, counts["traces"], counts["spans"])
    check_fixture_rows(expected, traces, spans)
    bad = counts["rejected"] + counts["dropped"]
    if route == "/v1/traces" and encoding == PROTO:
        assert int(partial(r).get("rejectedSpans", 0)) == bad
    # re-sending the same export changes nothing (docs/api.md §Durability: never twice)
    again = await post(http, project, route, body, encoding)
    assert again.status_code == 200
    await drained(pipeline)  # the re-sent records have been through the writer too
    traces2, spans2 = await wait_rows(http, project, counts["traces"], counts["spans"])
    assert comparable(traces2, "traceId") == comparable(traces, "traceId")
    assert comparable(spans2, "spanId") == comparable(spans, "spanId")


@pytest.mark.parametrize("name", ["01-otel-genai-current-agent-chat-tool",
                                  "06-claude-code-logs-export"])
async def test_json_and_protobuf_give_identical_rows(http, pool, name: str):
    path = next(p for p in FIXTURES if p.stem == name)
    counts = json.loads(expected_path(path).read_text())["counts"]
    results = []
    for encoding in (JSON, PROTO):
        project = await shared.make_project(pool)
        route, body = body_of(path, encoding)
        assert (await post(http, project, route, body, encoding)).status_code == 200
        traces, spans = await wait_rows(http, project, counts["traces"], counts["spans"])
        results.append((comparable(traces, "traceId"), comparable(spans, "spanId")))
    assert results[0] == results[1]


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw"])
async def test_compressed_bodies(http, project, encoding: str):
    route, body = body_of(FIXTURES[0], PROTO)
    if encoding == "gzip":
        packed = gzip.compress(body)
    elif encoding == "deflate":
        packed = zlib.compress(body)
    else:
        squeezer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        packed = squeezer.compress(body) + squeezer.flush()
    header = "deflate" if encoding.startswith("deflate") else "gzip"
    r = await post(http, project, route, packed, PROTO, **{"Content-Encoding": header})
    assert r.status_code == 200, r.text
    await wait_rows(http, project, 2, 2)


async def test_chunked_body_without_content_length(http, project):
    route, body = body_of(FIXTURES[0], PROTO)

    async def chunks():
        for i in range(0, len(body), 512):
            yield body[i:i + 512]

    r = await http.post(route, content=chunks(),
                        headers={**project.headers, "Content-Type": PROTO})
    assert r.status_code == 200, r.text
    await wait_rows(http, project, 2, 2)


async def test_empty_bodies_are_empty_requests(http, project):
    for route in ("/v1/traces", "/v1/logs", "/v1/metrics"):
        for ctype in (PROTO, JSON):
            r = await post(http, project, route, b"", ctype)
            assert r.status_code == 200, (route, ctype, r.text)
            assert r.headers["content-type"].startswith(ctype)
    r = await post(http, project, "/v1/traces", b"{}", JSON)
    assert r.status_code == 200 and r.json() == {}


# --- partial success -----------------------------------------------------------------------------


async def test_partial_success_for_invalid_and_dropped_spans(http, project):
    path = next(p for p in FIXTURES if p.stem.startswith("13-"))
    for encoding in (JSON, PROTO):
        route, body = body_of(path, encoding)
        r = await post(http, project, route, body, encoding)
        assert r.status_code == 200, r.text
        ps = partial(r)
        assert int(ps["rejectedSpans"]) == 4  # 3 invalid (no ids) + 1 generic dropped
        assert "dropped" in ps["errorMessage"]
    await wait_rows(http, project, 1, 1)


async def test_partial_success_for_generic_span_only(http, project):
    r = await post(http, project, "/v1/traces", generic_span_request().SerializeToString())
    assert r.status_code == 200
    ps = partial(r)
    assert ps["rejectedSpans"] == "1" and "dropped" in ps["errorMessage"]
    assert await rows(http, project, "traces") == []


# --- bad input: 4xx, never 500 -------------------------------------------------------------------


def rpc_status(resp: httpx.Response) -> status_pb2.Status:
    assert resp.headers["content-type"].startswith(PROTO)
    st = status_pb2.Status()
    st.ParseFromString(resp.content)
    return st


async def test_truncated_protobuf_is_400_with_rpc_status(http, project):
    _, body = body_of(FIXTURES[0], PROTO)
    r = await post(http, project, "/v1/traces", body[: len(body) // 2])
    assert r.status_code == 400
    st = rpc_status(r)
    assert st.code == 3 and "invalid" in st.message.lower()


@pytest.mark.parametrize("body", [
    b'{"resourceSpans": "nope"}',
    b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5, "traceId": 7}]}]}]}',
    b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz!"}]}]}]}',
    b"{not json",
])
async def test_json_with_wrong_types_is_400(http, project, body: bytes):
    r = await post(http, project, "/v1/traces", body, JSON)
    assert r.status_code == 400, r.text
    data = r.json()
    assert data["error"] and data["message"] == data["error"] and data["code"] == 3


async def test_logs_posted_to_traces_path(http, project):
    path = next(p for p in FIXTURES if p.stem.startswith("06-"))
    for encoding in (PROTO, JSON):
        _, body = body_of(path, encoding)
        r = await post(http, project, "/v1/traces", body, encoding)
        assert r.status_code in (200, 400), r.text
        if r.status_code == 200 and encoding == PROTO:
            assert int(partial(r)["rejectedSpans"]) > 0  # id-less "spans" reported, not stored
    assert await rows(http, project, "traces") == []


async def test_gzip_bomb_is_413(http, project):
    squeezer = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    zeros = bytes(1024 * 1024)
    bomb = b"".join(squeezer.compress(zeros) for _ in range(80)) + squeezer.flush()
    assert len(bomb) < shared.TEST_MAX_BODY  # small on the wire, 80 MiB inflated
    r = await post(http, project, "/v1/traces", bomb, PROTO, **{"Content-Encoding": "gzip"})
    assert r.status_code == 413
    assert rpc_status(r).code == 8  # RESOURCE_EXHAUSTED without RetryInfo: do not retry


async def test_body_over_limit_is_413(http, project):
    big = bytes(shared.TEST_MAX_BODY + 1024)
    r = await post(http, project, "/v1/traces", big, JSON)
    assert r.status_code == 413 and "error" in r.json()

    async def chunks():
        for _ in range(shared.TEST_MAX_BODY // 65536 + 2):
            yield bytes(65536)

    r = await http.post("/v1/logs", content=chunks(),
                        headers={**project.headers, "Content-Type": PROTO})
    assert r.status_code == 413


@pytest.mark.parametrize("ctype", ["text/plain", "application/grpc", "", "application/xml"])
async def test_unsupported_content_type_is_415(http, project, ctype: str):
    r = await http.post("/v1/traces", content=b"{}",
                        headers={**project.headers, "Content-Type": ctype})
    assert r.status_code == 415, r.text
    assert "error" in r.json()


async def test_unknown_content_encoding_is_415(http, project):
    r = await post(http, project, "/v1/traces", b"{}", JSON, **{"Content-Encoding": "br"})
    assert r.status_code == 415


async def test_json_array_points_to_native_route(http, project):
    r = await post(http, project, "/v1/traces", b'[{"trace_id": "x"}]', JSON)
    assert r.status_code == 400
    assert "/v1/traces/async" in r.json()["error"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer pulse_sk_nope"},
                                     {"Authorization": "Basic abc"}])
async def test_auth_required(http, headers):
    r = await http.post("/v1/traces", content=b"", headers={**headers, "Content-Type": PROTO})
    assert r.status_code == 401
    assert r.json()["error"] in ("Missing or invalid Authorization header", "Invalid API key")


async def test_query_route_still_answers_get(http, project):
    r = await http.get("/v1/traces", headers=project.headers)
    assert r.status_code == 200 and r.json()["traces"] == []


# --- overload: 503 with Retry-After, without a database ------------------------------------------


async def _anyone(request=None) -> ApiKeyInfo:
    return ApiKeyInfo(key_id=UUID(int=1), project_id=UUID(int=2))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def refusing() -> AsyncIterator[tuple[str, Ingestor]]:
    ingestor = await full_ingestor()
    app = FastAPI()
    app.include_router(otlp_router(ingestor, _anyone, BodyLimits(1 << 20, 1 << 22)))
    async for url in serve(app):
        yield url, ingestor


@pytest.mark.parametrize("prefix", ["01-", "06-", "09-"])  # traces, logs, metrics
async def test_full_queue_is_retryable_503(refusing, prefix: str):
    url, ingestor = refusing
    route, body = body_of(fixture(prefix), PROTO)
    before = ingestor.metrics.rejected.labels("queue_full")._value.get()
    async with httpx.AsyncClient(base_url=url) as client:
        r = await client.post(route, content=body, headers={"Content-Type": PROTO})
        assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
        st = rpc_status(r)
        assert st.code == 14 and st.details[0].type_url.endswith("google.rpc.RetryInfo")
        route, body = body_of(fixture(prefix), JSON)
        r = await client.post(route, content=body, headers={"Content-Type": JSON})
        assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
        assert r.json()["code"] == 14
    assert ingestor.metrics.rejected.labels("queue_full")._value.get() > before


# --- fuzz ----------------------------------------------------------------------------------------


def _mutations(seed: int, count: int) -> list[tuple[str, str, bytes]]:
    rnd = random.Random(seed)
    valid = [body_of(p, PROTO) for p in FIXTURES]
    out = []
    for i in range(count):
        route, body = rnd.choice(valid)
        route = rnd.choice([route, "/v1/traces", "/v1/logs", "/v1/metrics"])
        data = bytearray(body)
        mode = i % 4
        if mode == 0:
            data = bytearray(rnd.randbytes(rnd.randint(0, 2048)))
        elif mode == 1:
            for _ in range(rnd.randint(1, 12)):
                data[rnd.randrange(len(data))] = rnd.randrange(256)
        elif mode == 2:
            cut = rnd.randrange(len(data))
            data = data[:cut] + data[cut + rnd.randint(1, 64):]
        else:
            pos = rnd.randrange(len(data))
            data[pos:pos] = rnd.randbytes(rnd.randint(1, 32))
        out.append((route, rnd.choice([PROTO, JSON]), bytes(data)))
    return out


async def test_fuzz_never_500(http, project):
    seen = set()
    for route, ctype, body in _mutations(seed=20260820, count=100):
        r = await post(http, project, route, body, ctype)
        seen.add(r.status_code)
        assert r.status_code in (200, 400, 413, 415), (route, ctype, r.status_code, r.text)
    assert 400 in seen
