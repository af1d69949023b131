"""Native ingest validation (docs/api.md §Validation): every rule of a trace and span item, the
body shape, and the fields that may be null or absent."""

from __future__ import annotations

import asyncio

import pytest

from tests.factories import span_item, trace_item
from tests.support.native import SPAN_ROUTES, TRACE_ROUTES, fetch, total

MISSING = object()


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
