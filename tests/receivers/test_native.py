"""Native ingest routes (SPEC.md §3): success shapes, every validation rule, idempotence, cost."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price

from tests.factories import span_item, trace_item

TRACE_ROW_KEYS = [
    "traceId", "projectId", "sessionId", "timestamp", "latencyMs", "provider", "modelRequested",
    "modelUsed", "providerRequestId", "requestBody", "responseBody", "inputTokens",
    "outputTokens", "outputText", "finishReason", "status", "error", "costCents", "metadata",
]
SPAN_ROW_KEYS = [
    "spanId", "projectId", "sessionId", "parentSpanId", "timestamp", "durationMs", "source",
    "kind", "eventType", "status", "toolUseId", "toolName", "toolInput", "toolResponse", "error",
    "isInterrupt", "cwd", "model", "agentName", "metadata",
]
TRACE_ROUTES = ["/v1/traces/async", "/v1/traces/batch"]
SPAN_ROUTES = ["/v1/spans/async", "/v1/spans/batch"]
MISSING = object()
AT = datetime(2026, 1, 25, 12, tzinfo=UTC)


async def fetch(http, project, kind: str, item_id: str, *, wait: float = 2.0):
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


def with_field(item: dict, field: str, value) -> dict:
    item = dict(item)
    if value is MISSING:
        item.pop(field, None)
    else:
        item[field] = value
    return item


def assert_validation(r, index: int, field: str) -> None:
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"error", "details"}
    assert body["error"] == "Validation failed"
    assert len(body["details"]) == 1, body
    detail = body["details"][0]
    assert set(detail) == {"index", "field", "message"}
    assert detail["index"] == index
    assert detail["field"] == field
    assert isinstance(detail["message"], str) and detail["message"]


# ---- success -------------------------------------------------------------------------------------

async def test_traces_async_queued_then_readable(http, project):
    items = [trace_item(), trace_item(), trace_item()]
    r = await http.post("/v1/traces/async", json=items, headers=project.headers)
    assert r.status_code == 202, r.text
    assert r.json() == {"status": "queued", "count": 3}
    for item in items:
        got = await fetch(http, project, "traces", item["trace_id"])
        assert got.status_code == 200
        row = got.json()
        assert row["traceId"] == item["trace_id"]
        assert row["projectId"] == str(project.id)
        assert row["requestBody"] == item["request_body"]


async def test_traces_batch_returns_full_rows(http, project):
    item = trace_item(
        timestamp="2026-01-25T17:30:00.123456+05:30", error=None, cost_cents=None,
    )
    bare = {k: item[k] for k in (
        "trace_id", "timestamp", "provider", "model_requested", "request_body", "status",
        "latency_ms")}
    bare["trace_id"] = str(uuid.uuid4())
    bare["timestamp"] = "2026-01-25T12:00:01Z"
    r = await http.post("/v1/traces/batch", json=[item, bare], headers=project.headers)
    assert r.status_code == 202, r.text
    body = r.json()
    assert list(body) == ["count", "traces"]
    assert body["count"] == 2
    rows = {row["traceId"]: row for row in body["traces"]}
    assert set(rows) == {item["trace_id"], bare["trace_id"]}
    row = rows[item["trace_id"]]
    assert list(row)[: len(TRACE_ROW_KEYS)] == TRACE_ROW_KEYS
    assert row["timestamp"] == "2026-01-25T12:00:00.123Z"
    assert row["projectId"] == str(project.id)
    assert row["sessionId"] == "conv-abc-123"
    assert row["latencyMs"] == 813  # whole milliseconds on every path (docs/api.md)
    assert row["provider"] == "openai"
    assert row["modelRequested"] == "gpt-4o"
    assert row["modelUsed"] == "gpt-4o-2024-08-06"
    assert row["providerRequestId"] == "chatcmpl-abc"
    assert row["responseBody"] == item["response_body"]
    assert (row["inputTokens"], row["outputTokens"]) == (1000, 500)
    assert row["outputText"] == "Hello"
    assert row["finishReason"] == "stop"
    assert row["status"] == "success"
    assert row["error"] is None
    assert row["metadata"]["env"] == "test"
    minimal = rows[bare["trace_id"]]
    assert list(minimal)[: len(TRACE_ROW_KEYS)] == TRACE_ROW_KEYS
    for key in ("sessionId", "modelUsed", "providerRequestId", "responseBody", "inputTokens",
                "outputTokens", "outputText", "finishReason", "error", "costCents"):
        assert minimal[key] is None, key
    assert minimal["timestamp"] == "2026-01-25T12:00:01.000Z"
    # the stored row is what the batch answer said
    got = await fetch(http, project, "traces", item["trace_id"])
    assert got.json() == row


@pytest.mark.parametrize("stamp, expected", [
    ("2026-01-25T17:30:00+05:30", "2026-01-25T12:00:00.000Z"),
    ("2026-01-25T07:00:00-05:00", "2026-01-25T12:00:00.000Z"),
    ("2026-01-25T12:00:00Z", "2026-01-25T12:00:00.000Z"),
    ("2026-01-25T12:00:00.5Z", "2026-01-25T12:00:00.500Z"),
    ("2026-01-25T12:00:00.123456789Z", "2026-01-25T12:00:00.123Z"),
    ("2026-01-25t12:00:00z", "2026-01-25T12:00:00.000Z"),
])
async def test_trace_timestamps_normalised_to_utc(http, project, stamp, expected):
    item = trace_item(timestamp=stamp)
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    assert r.status_code == 202, r.text
    assert r.json()["traces"][0]["timestamp"] == expected


async def test_spans_async_queued_then_readable(http, project):
    items = [span_item(), span_item(kind="agent_run", event_type="subagent_stop")]
    r = await http.post("/v1/spans/async", json=items, headers=project.headers)
    assert r.status_code == 202, r.text
    assert r.json() == {"status": "queued", "count": 2}
    for item in items:
        got = await fetch(http, project, "spans", item["span_id"])
        assert got.status_code == 200
        assert got.json()["spanId"] == item["span_id"]
        assert got.json()["kind"] == item["kind"]


async def test_spans_batch_returns_full_rows(http, project):
    parent = str(uuid.uuid4())
    item = span_item(
        parent_span_id=parent, timestamp="2026-01-25T13:00:00.25+01:00", is_interrupt=True,
        error={"message": "boom"}, tool_input=["a", 1], tool_response="plain text",
    )
    bare = {k: item[k] for k in ("span_id", "session_id", "source", "kind", "event_type")}
    bare["span_id"] = str(uuid.uuid4())
    bare["timestamp"] = "2026-01-25T12:00:00Z"
    r = await http.post("/v1/spans/batch", json=[item, bare], headers=project.headers)
    assert r.status_code == 202, r.text
    body = r.json()
    assert list(body) == ["count", "spans"]
    assert body["count"] == 2
    rows = {row["spanId"]: row for row in body["spans"]}
    row = rows[item["span_id"]]
    assert list(row)[: len(SPAN_ROW_KEYS)] == SPAN_ROW_KEYS
    assert row == {**row, **{
        "projectId": str(project.id), "sessionId": "sess-1", "parentSpanId": parent,
        "timestamp": "2026-01-25T12:00:00.250Z", "durationMs": 42, "source": "claude_code",
        "kind": "tool_use", "eventType": "post_tool_use", "status": "success",
        "toolUseId": "toolu_01", "toolName": "Bash", "toolInput": ["a", 1],
        "toolResponse": "plain text", "error": {"message": "boom"}, "isInterrupt": True,
        "cwd": "/work", "model": "claude-sonnet-4-5", "agentName": "main",
        "metadata": {"hook": "PostToolUse"},
    }}
    minimal = rows[bare["span_id"]]
    assert list(minimal)[: len(SPAN_ROW_KEYS)] == SPAN_ROW_KEYS
    for key in ("parentSpanId", "durationMs", "status", "toolUseId", "toolName", "toolInput",
                "toolResponse", "error", "isInterrupt", "cwd", "model", "agentName"):
        assert minimal[key] is None, key
    got = await fetch(http, project, "spans", item["span_id"])
    assert got.json() == row


@pytest.mark.parametrize("source", [
    "claude_code", "codex", "opencode", "openclaw", "otel_genai", "openinference", "openllmetry",
    "vercel_ai", "pydantic_ai",
])
async def test_every_span_source_accepted(http, project, source):
    r = await http.post("/v1/spans/batch", json=[span_item(source=source)],
                        headers=project.headers)
    assert r.status_code == 202, r.text
    assert r.json()["spans"][0]["source"] == source


@pytest.mark.parametrize("kind", [
    "tool_use", "agent_run", "session", "user_prompt", "llm_response", "notification",
])
async def test_every_span_kind_accepted(http, project, kind):
    r = await http.post("/v1/spans/batch", json=[span_item(kind=kind)], headers=project.headers)
    assert r.status_code == 202, r.text
    assert r.json()["spans"][0]["kind"] == kind


@pytest.mark.parametrize("raw, canonical", [
    ("openai", "openai"), ("anthropic", "anthropic"), ("openrouter", "openrouter"),
    ("OpenAI", "openai"), ("Anthropic", "anthropic"), ("mistral_ai", "mistral_ai"),
])
async def test_known_providers_accepted(http, project, raw, canonical):
    r = await http.post("/v1/traces/batch", json=[trace_item(provider=raw)],
                        headers=project.headers)
    assert r.status_code == 202, r.text
    assert r.json()["traces"][0]["provider"] == canonical


@pytest.mark.parametrize("session_id", [
    "conv-abc-123", str(uuid.uuid4()), "x" * 256, "a",
])
async def test_session_id_forms_accepted(http, project, session_id):
    r = await http.post("/v1/traces/batch", json=[trace_item(session_id=session_id)],
                        headers=project.headers)
    assert r.status_code == 202, r.text
    assert r.json()["traces"][0]["sessionId"] == session_id


# ---- validation: traces --------------------------------------------------------------------------

TRACE_INVALID = [
    ("trace_id", MISSING), ("trace_id", None), ("trace_id", "not-a-uuid"), ("trace_id", 12345),
    ("trace_id", "1234"),
    ("timestamp", MISSING), ("timestamp", "2026-01-25T12:00:00"), ("timestamp", "garbage"),
    ("timestamp", "2026-01-25"), ("timestamp", 1769342400), ("timestamp", "2026-13-45T12:00:00Z"),
    ("timestamp", "2026-01-25T12:00:00+25:00"), ("timestamp", ""),
    ("provider", MISSING), ("provider", "not-a-provider"), ("provider", ""), ("provider", 7),
    ("model_requested", MISSING), ("model_requested", ""), ("model_requested", "   "),
    ("model_requested", 4),
    ("model_used", 4), ("provider_request_id", ["x"]),
    ("request_body", MISSING), ("request_body", "text"), ("request_body", [1, 2]),
    ("request_body", 3),
    ("response_body", "text"), ("response_body", [1]),
    ("input_tokens", -1), ("input_tokens", 1.5), ("input_tokens", "10"), ("input_tokens", True),
    ("input_tokens", 2**70),
    ("output_tokens", -5), ("output_tokens", 0.1), ("output_tokens", {}),
    ("output_text", 12), ("finish_reason", False),
    ("status", MISSING), ("status", "ok"), ("status", "SUCCESS"), ("status", 1),
    ("error", "boom"), ("error", ["boom"]),
    ("latency_ms", MISSING), ("latency_ms", -1), ("latency_ms", -0.5), ("latency_ms", "12"),
    ("latency_ms", True),
    ("cost_cents", -0.01), ("cost_cents", "1"), ("cost_cents", False),
    ("session_id", ""), ("session_id", "x" * 257), ("session_id", 99),
    ("metadata", "x"), ("metadata", [1]), ("metadata", 1),
]


@pytest.mark.parametrize("route", TRACE_ROUTES)
@pytest.mark.parametrize("field, value", TRACE_INVALID,
                         ids=[f"{f}={v!r:.20}" for f, v in TRACE_INVALID])
async def test_trace_validation(http, project, route, field, value):
    good = [trace_item(), trace_item()]
    bad = with_field(trace_item(), field, value)
    r = await http.post(route, json=[*good, bad], headers=project.headers)
    assert_validation(r, 2, field)
    # nothing of a rejected batch is stored: once a later valid post is readable, still only it
    sentinel = trace_item()
    assert (await http.post(route, json=[sentinel], headers=project.headers)).status_code == 202
    assert (await fetch(http, project, "traces", sentinel["trace_id"])).status_code == 200
    for item in good:
        got = await http.get(f"/v1/traces/{item['trace_id']}", headers=project.headers)
        assert got.status_code == 404
    assert await total(http, project, "traces") == 1


async def test_trace_item_not_an_object(http, project):
    r = await http.post("/v1/traces/batch", json=[trace_item(), "nope"], headers=project.headers)
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "Validation failed"
    assert [d["index"] for d in body["details"]] == [1]
    assert await total(http, project, "traces") == 0


async def test_every_problem_is_reported_with_its_index(http, project):
    items = [trace_item(latency_ms=-1), trace_item(), trace_item(status="nope", provider="zz")]
    r = await http.post("/v1/traces/batch", json=items, headers=project.headers)
    assert r.status_code == 400
    found = {(d["index"], d["field"]) for d in r.json()["details"]}
    assert found == {(0, "latency_ms"), (2, "provider"), (2, "status")}


# ---- validation: spans ---------------------------------------------------------------------------

SPAN_INVALID = [
    ("span_id", MISSING), ("span_id", None), ("span_id", "abc"), ("span_id", 1),
    ("session_id", MISSING), ("session_id", ""), ("session_id", "x" * 257), ("session_id", 5),
    ("parent_span_id", "not-a-uuid"), ("parent_span_id", 3),
    ("timestamp", MISSING), ("timestamp", "2026-01-25 12:00:00"), ("timestamp", "yesterday"),
    ("timestamp", 1769342400000),
    ("duration_ms", -1), ("duration_ms", "5"), ("duration_ms", True),
    ("source", MISSING), ("source", "cursor"), ("source", "Claude_Code"), ("source", 1),
    ("kind", MISSING), ("kind", "tool"), ("kind", ""), ("kind", None),
    ("event_type", MISSING), ("event_type", ""), ("event_type", 3),
    ("status", 5), ("tool_use_id", 5), ("tool_name", ["Bash"]),
    ("is_interrupt", "true"), ("is_interrupt", 1), ("is_interrupt", 0),
    ("cwd", 1), ("model", {}), ("agent_name", 2),
    ("metadata", "x"), ("metadata", []),
]


@pytest.mark.parametrize("route", SPAN_ROUTES)
@pytest.mark.parametrize("field, value", SPAN_INVALID,
                         ids=[f"{f}={v!r:.20}" for f, v in SPAN_INVALID])
async def test_span_validation(http, project, route, field, value):
    good = [span_item(), span_item(), span_item()]
    bad = with_field(span_item(), field, value)
    r = await http.post(route, json=[good[0], bad, *good[1:]], headers=project.headers)
    assert_validation(r, 1, field)
    sentinel = span_item()
    assert (await http.post(route, json=[sentinel], headers=project.headers)).status_code == 202
    assert (await fetch(http, project, "spans", sentinel["span_id"])).status_code == 200
    for item in good:
        got = await http.get(f"/v1/spans/{item['span_id']}", headers=project.headers)
        assert got.status_code == 404
    assert await total(http, project, "spans") == 1


# ---- body shape ----------------------------------------------------------------------------------

@pytest.mark.parametrize("route", TRACE_ROUTES + SPAN_ROUTES)
@pytest.mark.parametrize("body", [b"[]", b'{"trace_id": "x"}', b'"text"', b"42", b"null"])
async def test_body_must_be_a_non_empty_array(http, project, route, body):
    r = await http.post(route, content=body, headers={
        **project.headers, "Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "Validation failed"
    assert len(r.json()["details"]) == 1


@pytest.mark.parametrize("route", TRACE_ROUTES + SPAN_ROUTES)
@pytest.mark.parametrize("body", [b"not json", b"[{", b"", b"[1,]", b"\xff\xfe[]", b"[NaN]"])
async def test_non_json_body(http, project, route, body):
    r = await http.post(route, content=body, headers={
        **project.headers, "Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json() == {"error": "Invalid JSON body"}


@pytest.mark.parametrize("route, factory, kind", [
    ("/v1/traces/batch", trace_item, "traces"), ("/v1/spans/batch", span_item, "spans"),
    ("/v1/traces/async", trace_item, "traces"), ("/v1/spans/async", span_item, "spans"),
])
async def test_batch_size_limits(http, project, route, factory, kind):
    too_many = [factory() for _ in range(101)]
    r = await http.post(route, json=too_many, headers=project.headers)
    assert r.status_code == 400
    assert r.json()["error"] == "Validation failed"
    assert await total(http, project, kind) == 0
    r = await http.post(route, json=too_many[:100], headers=project.headers)
    assert r.status_code == 202, r.text
    assert r.json()["count"] == 100
    if route.endswith("/batch"):
        assert len(r.json()[kind]) == 100
    for _ in range(40):
        if await total(http, project, kind) == 100:
            break
        await asyncio.sleep(0.05)
    assert await total(http, project, kind) == 100


TRACE_OPTIONAL = [
    "model_used", "provider_request_id", "response_body", "input_tokens", "output_tokens",
    "output_text", "finish_reason", "error", "cost_cents", "session_id", "metadata",
]
SPAN_OPTIONAL = [
    "parent_span_id", "duration_ms", "status", "tool_use_id", "tool_name", "tool_input",
    "tool_response", "error", "is_interrupt", "cwd", "model", "agent_name", "metadata",
]


@pytest.mark.parametrize("route", TRACE_ROUTES)
async def test_trace_nulls_mean_absent_and_unknown_keys_ignored(http, project, route):
    item = trace_item(**dict.fromkeys(TRACE_OPTIONAL), unknown_key={"x": 1}, another=[1])
    r = await http.post(route, json=[item], headers=project.headers)
    assert r.status_code == 202, r.text
    row = (await fetch(http, project, "traces", item["trace_id"])).json()
    assert row["modelUsed"] is None and row["sessionId"] is None and row["costCents"] is None
    assert row["inputTokens"] is None and row["responseBody"] is None
    assert "unknown_key" not in row and "unknownKey" not in row
    assert "unknown_key" not in (row["metadata"] or {})


@pytest.mark.parametrize("route", SPAN_ROUTES)
async def test_span_nulls_mean_absent_and_unknown_keys_ignored(http, project, route):
    item = span_item(**dict.fromkeys(SPAN_OPTIONAL), bogus=True)
    r = await http.post(route, json=[item], headers=project.headers)
    assert r.status_code == 202, r.text
    row = (await fetch(http, project, "spans", item["span_id"])).json()
    for key in ("parentSpanId", "durationMs", "status", "toolName", "toolInput", "isInterrupt",
                "cwd", "model", "agentName"):
        assert row[key] is None, key
    assert "bogus" not in row


async def test_zero_values_are_accepted(http, project):
    item = trace_item(latency_ms=0, input_tokens=0, output_tokens=0, cost_cents=0)
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    assert r.status_code == 202, r.text
    row = r.json()["traces"][0]
    assert (row["latencyMs"], row["inputTokens"], row["outputTokens"]) == (0, 0, 0)
    assert row["costCents"] == 0


async def test_integral_float_tokens_are_accepted(http, project):
    item = trace_item(input_tokens=10.0, output_tokens=3)
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    assert r.status_code == 202, r.text
    assert r.json()["traces"][0]["inputTokens"] == 10


# ---- idempotence ---------------------------------------------------------------------------------

async def test_trace_async_then_batch_is_one_row(http, project):
    item = trace_item()
    r = await http.post("/v1/traces/async", json=[item], headers=project.headers)
    assert r.status_code == 202
    assert (await fetch(http, project, "traces", item["trace_id"])).status_code == 200
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    assert r.status_code == 202, r.text
    assert r.json()["count"] == 1
    assert [t["traceId"] for t in r.json()["traces"]] == [item["trace_id"]]
    assert await total(http, project, "traces") == 1
    got = await http.get(f"/v1/traces/{item['trace_id']}", headers=project.headers)
    assert got.status_code == 200


async def test_trace_twice_in_one_batch_is_one_row(http, project):
    item = trace_item()
    r = await http.post("/v1/traces/batch", json=[item, item], headers=project.headers)
    assert r.status_code == 202, r.text
    assert [t["traceId"] for t in r.json()["traces"]] == [item["trace_id"]]
    assert await total(http, project, "traces") == 1


async def test_trace_resent_with_other_timestamp_is_one_row(http, project):
    item = trace_item()
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    assert r.status_code == 202
    later = dict(item, timestamp="2026-01-26T08:00:00Z", input_tokens=9999)
    r = await http.post("/v1/traces/batch", json=[later], headers=project.headers)
    assert r.status_code == 202, r.text
    assert await total(http, project, "traces") == 1
    row = (await http.get(f"/v1/traces/{item['trace_id']}", headers=project.headers)).json()
    assert row["timestamp"] == "2026-01-25T12:00:00.000Z"
    assert row["inputTokens"] == 1000
    # the same id at two timestamps in one batch also collapses to one row
    twin = trace_item()
    r = await http.post("/v1/traces/async", headers=project.headers, json=[
        twin, dict(twin, timestamp="2026-01-27T00:00:00Z")])
    assert r.status_code == 202
    assert (await fetch(http, project, "traces", twin["trace_id"])).status_code == 200
    assert await total(http, project, "traces") == 2


async def test_span_async_then_batch_is_one_row(http, project):
    item = span_item()
    r = await http.post("/v1/spans/async", json=[item], headers=project.headers)
    assert r.status_code == 202
    assert (await fetch(http, project, "spans", item["span_id"])).status_code == 200
    r = await http.post("/v1/spans/batch", json=[item, item], headers=project.headers)
    assert r.status_code == 202, r.text
    assert [s["spanId"] for s in r.json()["spans"]] == [item["span_id"]]
    assert await total(http, project, "spans") == 1


async def test_span_resent_with_other_timestamp_is_one_row(http, project):
    item = span_item()
    await http.post("/v1/spans/batch", json=[item], headers=project.headers)
    r = await http.post("/v1/spans/batch", headers=project.headers,
                        json=[dict(item, timestamp="2026-02-01T00:00:00Z")])
    assert r.status_code == 202
    assert await total(http, project, "spans") == 1
    row = (await http.get(f"/v1/spans/{item['span_id']}", headers=project.headers)).json()
    assert row["timestamp"] == "2026-01-25T12:00:00.000Z"


# ---- cost ----------------------------------------------------------------------------------------

async def test_cost_computed_for_known_model(http, project):
    item = trace_item(metadata={"env": "x"})
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    row = r.json()["traces"][0]
    assert row["costCents"] == 0.75
    assert row["metadata"] == {"env": "x", "cost_source": "computed"}


async def test_client_cost_wins(http, project):
    item = trace_item(cost_cents=12.5)
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    row = r.json()["traces"][0]
    assert row["costCents"] == 12.5
    assert row["metadata"]["cost_source"] == "client"


async def test_provider_cost_source_kept(http, project):
    item = trace_item(cost_cents=3, metadata={"cost_source": "provider"})
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    row = r.json()["traces"][0]
    assert row["costCents"] == 3
    assert row["metadata"]["cost_source"] == "provider"


async def test_unknown_model_has_no_cost(http, project):
    item = trace_item(model_requested="totally-unknown-model-xyz", model_used=None)
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    row = r.json()["traces"][0]
    assert row["costCents"] is None
    assert "cost_source" not in row["metadata"]


async def test_no_tokens_no_cost(http, project):
    item = trace_item(input_tokens=None, output_tokens=None)
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    assert r.json()["traces"][0]["costCents"] is None


def cents(usage: Usage, model: str, provider: str) -> Decimal:
    price = calc_price(usage, model, provider_id=provider, genai_request_timestamp=AT)
    return (Decimal(price.total_price) * 100).quantize(Decimal("0.000001"))


async def test_anthropic_cache_tokens_priced_at_cache_rates(http, project):
    usage = {"input_tokens": 100, "output_tokens": 50, "cache_read_input_tokens": 2000,
             "cache_creation_input_tokens": 300}
    item = trace_item(
        provider="anthropic", model_requested="claude-sonnet-4-5", model_used=None,
        input_tokens=100, output_tokens=50, response_body={"usage": usage},
    )
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    assert r.status_code == 202, r.text
    row = r.json()["traces"][0]
    expected = cents(Usage(input_tokens=2400, output_tokens=50, cache_read_tokens=2000,
                           cache_write_tokens=300), "claude-sonnet-4-5", "anthropic")
    naive = cents(Usage(input_tokens=100, output_tokens=50), "claude-sonnet-4-5", "anthropic")
    assert expected != naive
    assert Decimal(str(row["costCents"])) == expected
    assert row["metadata"]["cost_source"] == "computed"


async def test_openai_cached_tokens_priced_at_cache_rate(http, project):
    item = trace_item(
        input_tokens=1000, output_tokens=500,
        response_body={"usage": {"prompt_tokens": 1000, "completion_tokens": 500,
                                 "prompt_tokens_details": {"cached_tokens": 800}}},
    )
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    row = r.json()["traces"][0]
    expected = cents(Usage(input_tokens=1000, output_tokens=500, cache_read_tokens=800),
                     "gpt-4o-2024-08-06", "openai")
    assert Decimal(str(row["costCents"])) == expected
    assert row["costCents"] != 0.75
