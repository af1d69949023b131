"""Native ingest routes (docs/api.md §Native routes): success shapes, stored rows, accepted
values, idempotence. Validation is in test_native_validation.py, cost in test_native_cost.py."""

from __future__ import annotations

import uuid

import pytest

from tests.factories import span_item, trace_item
from tests.support.native import fetch, total

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
