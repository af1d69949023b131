"""One row shape on every path (issue 16): ``latencyMs`` is a whole number of milliseconds, and
``modelUsed`` is the model the response named: null when the call failed before one (OTel
error spans, Claude Code ``api_error``, Codex failed requests, native SDK error traces alike)."""

from __future__ import annotations

import pytest

from pulse.mapping import map_logs, map_traces, traces_from_json
from tests.factories import trace_item
from tests.helpers import eventually
from tests.mapping.otlp_builders import T0, kv, log_records, one_span

PROTO = {"Content-Type": "application/x-protobuf"}
CHAT = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 5}


def timed_span(attrs: dict, duration_ns: int, *, error: bool = False):
    req = one_span(attrs)
    span = req.resource_spans[0].scope_spans[0].spans[0]
    span.end_time_unix_nano = T0 + duration_ns
    if error:
        span.status.code = 2
        span.status.message = "rate limited"
        span.attributes.append(kv("error.type", "RateLimitError"))
    return req


@pytest.mark.parametrize(("duration_ns", "ms"), [(167_951_868, 168), (1_499_999, 1),
                                                  (1_500_000, 2), (0, 0)])
def test_otlp_latency_is_whole_milliseconds(duration_ns, ms):
    (t,) = map_traces(timed_span(CHAT, duration_ns)).traces
    assert t.latency_ms == ms and type(t.latency_ms) is int


@pytest.mark.parametrize(("sent", "ms"), [(812.5, 813), (812.4, 812), (900, 900), (0.2, 0)])
def test_native_latency_is_whole_milliseconds(sent, ms):
    (t,) = traces_from_json([trace_item(latency_ms=sent)])
    assert t.latency_ms == ms and type(t.latency_ms) is int


def test_claude_code_latency_whole():
    (t,) = map_logs(log_records({"event.name": "api_request", "session.id": "s1",
                                 "model": "claude-sonnet-4-5", "input_tokens": "1",
                                 "output_tokens": "1", "duration_ms": "900"})).traces
    assert t.latency_ms == 900 and type(t.latency_ms) is int


def test_error_traces_have_no_model_used_on_every_path():
    (otel,) = map_traces(timed_span(CHAT, 1_000_000, error=True)).traces
    assert otel.status == "error" and otel.model_used is None
    assert otel.model_requested == "gpt-4o"
    (cc,) = map_logs(log_records({"event.name": "api_error", "session.id": "s1",
                                  "model": "claude-sonnet-4-5", "error": "overloaded",
                                  "status_code": "529", "duration_ms": "12"})).traces
    assert cc.status == "error" and cc.model_used is None
    assert cc.model_requested == "claude-sonnet-4-5"
    (native,) = traces_from_json([trace_item(status="error", model_used=None,
                                             error={"message": "x"})])
    assert native.model_used is None


def test_model_used_is_the_response_model_only():
    (t,) = map_traces(timed_span(CHAT, 1_000_000)).traces
    assert t.model_used is None  # no gen_ai.response.model: nothing says which model answered
    (t,) = map_traces(timed_span({**CHAT, "gen_ai.response.model": "gpt-4o-2024-08-06"},
                                 1_000_000)).traces
    assert t.model_used == "gpt-4o-2024-08-06"


async def test_latency_type_through_the_api(http, project):
    """What the API returns: an integer for OTLP and native rows alike."""
    r = await http.post("/v1/traces/batch", json=[trace_item(latency_ms=812.5)],
                        headers=project.headers)
    assert r.status_code == 202, r.text
    body = timed_span(CHAT, 167_951_868).SerializeToString()
    r = await http.post("/v1/traces", content=body, headers={**project.headers, **PROTO})
    assert r.status_code == 200, r.text
    r = await eventually(lambda: http.get("/v1/traces", headers=project.headers),
                         lambda r: r.json()["total"] >= 2)
    latencies = sorted(row["latencyMs"] for row in r.json()["traces"])
    assert latencies == [168, 813]
    assert all(type(v) is int for v in latencies)  # JSON integers, not 168.0
