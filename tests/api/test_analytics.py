"""GET /v1/analytics and /v1/analytics/spans over HTTP: every key, group_by, errors, isolation."""

from __future__ import annotations

import pytest

from tests.factories import span_item, trace_item

RANGE = {"date_from": "2026-01-25T00:00:00Z", "date_to": "2026-01-26T23:59:59.999+00:00"}
KEYS = {"totalCost", "totalRequests", "totalSessions", "totalTokens", "avgLatency", "errorRate",
        "costOverTime", "costByProvider", "topModels", "computed", "latencyPercentiles", "groups",
        "groupBy"}


async def _seed(http, project) -> None:
    traces = [
        trace_item(timestamp="2026-01-25T10:15:00Z", cost_cents=10, latency_ms=100,
                   session_id="a", input_tokens=100, output_tokens=50),
        trace_item(timestamp="2026-01-25T11:30:00Z", cost_cents=20, latency_ms=300,
                   session_id="a", input_tokens=200, output_tokens=100, status="error"),
        trace_item(timestamp="2026-01-26T09:00:00Z", cost_cents=5, latency_ms=200,
                   provider="anthropic", model_requested="claude-sonnet-4-5", session_id="b",
                   input_tokens=10, output_tokens=10),
        trace_item(timestamp="2026-01-27T09:00:00Z", cost_cents=1000),  # outside the range
    ]
    r = await http.post("/v1/traces/batch", json=traces, headers=project.headers)
    assert r.status_code == 202


async def test_every_key_with_known_values(http, project):
    await _seed(http, project)
    r = await http.get("/v1/analytics", params=RANGE, headers=project.headers)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == KEYS
    assert body["totalCost"] == 35 and body["totalRequests"] == 3 and body["totalSessions"] == 2
    assert body["totalTokens"] == {"input": 310, "output": 160, "total": 470}
    assert body["avgLatency"] == 200 and body["errorRate"] == pytest.approx(100 / 3)
    assert body["costOverTime"] == [
        {"period": "2026-01-25", "provider": "openai", "costCents": 30},
        {"period": "2026-01-26", "provider": "anthropic", "costCents": 5}]
    assert body["costByProvider"] == [{"provider": "openai", "costCents": 30, "requests": 2},
                                      {"provider": "anthropic", "costCents": 5, "requests": 1}]
    assert body["topModels"][0] == {"provider": "openai", "model": "gpt-4o", "requests": 2,
                                    "costCents": 30, "avgLatency": 200, "totalTokens": 450,
                                    "errorRate": 50}
    assert body["computed"] == pytest.approx({
        "costPerRequest": 35 / 3, "tokensPerRequest": 470 / 3, "costPer1kTokens": 35000 / 470,
        "tracesPerSession": 1.5, "avgInputTokens": 310 / 3, "avgOutputTokens": 160 / 3})
    assert body["latencyPercentiles"] == pytest.approx({"p50": 200, "p95": 290, "p99": 298})
    assert body["groups"] == [] and body["groupBy"] is None


@pytest.mark.parametrize(("group_by", "keys"), [
    ("day", ["2026-01-25", "2026-01-26"]),
    ("hour", ["2026-01-25 10:00:00", "2026-01-25 11:00:00", "2026-01-26 09:00:00"]),
    ("model", ["claude-sonnet-4-5", "gpt-4o"]),
    ("provider", ["anthropic", "openai"]),
])
async def test_group_by(http, project, group_by, keys):
    await _seed(http, project)
    r = await http.get("/v1/analytics", params={**RANGE, "group_by": group_by},
                       headers=project.headers)
    body = r.json()
    assert [g["key"] for g in body["groups"]] == keys
    assert sum(g["requests"] for g in body["groups"]) == 3
    assert sum(g["costCents"] for g in body["groups"]) == 35
    if group_by in ("model", "provider"):
        last = body["groups"][-1]
        assert last["costOverTime"] == [{"period": "2026-01-25", "costCents": 30}]
        assert last["sessions"] == 1
    if group_by == "hour":
        assert body["costOverTime"][0]["period"] == "2026-01-25 10:00:00"


async def test_provider_and_model_filters(http, project):
    await _seed(http, project)
    r = await http.get("/v1/analytics", params={**RANGE, "provider": "Anthropic"},
                       headers=project.headers)
    assert r.json()["totalRequests"] == 1
    r = await http.get("/v1/analytics", params={**RANGE, "model": "gpt-4o"},
                       headers=project.headers)
    assert r.json()["totalCost"] == 30


async def test_empty_range_gives_zeros(http, project):
    r = await http.get("/v1/analytics", params=RANGE, headers=project.headers)
    body = r.json()
    assert body["totalRequests"] == 0 and body["totalCost"] == 0 and body["errorRate"] == 0
    assert body["latencyPercentiles"] == {"p50": 0, "p95": 0, "p99": 0}
    assert set(body["computed"].values()) == {0}
    assert body["costOverTime"] == body["topModels"] == body["costByProvider"] == []
    r = await http.get("/v1/analytics/spans", params=RANGE, headers=project.headers)
    assert r.json()["totalSpans"] == 0 and r.json()["successRate"] == 0


@pytest.mark.parametrize("path", ["/v1/analytics", "/v1/analytics/spans"])
@pytest.mark.parametrize(("params", "error"), [
    ({}, "Invalid query parameters"),
    ({"date_from": RANGE["date_from"]}, "Invalid query parameters"),
    ({**RANGE, "group_by": "week"}, "Invalid query parameters"),
    ({**RANGE, "date_from": "yesterday"}, "Invalid date_from parameter"),
    ({**RANGE, "date_to": "not-a-date"}, "Invalid date_to parameter"),
    ({"date_from": RANGE["date_to"], "date_to": RANGE["date_from"]}, "Invalid query parameters"),
])
async def test_bad_params_are_400(http, project, path, params, error):
    r = await http.get(path, params=params, headers=project.headers)
    assert r.status_code == 400
    assert r.json()["error"] == error
    if error == "Invalid query parameters":
        assert r.json()["details"] and {"field", "message"} <= set(r.json()["details"][0])


@pytest.mark.parametrize("path", ["/v1/analytics", "/v1/analytics/spans"])
@pytest.mark.parametrize("params", [
    {"date_from": "2024-01-01", "date_to": "2024-12-31"},  # the reference suite's case
    {"date_from": "2024-01-01T00:00:00Z", "date_to": "2024-12-31"},
    {"date_from": "2024-01-01", "date_to": "2024-12-31T23:59:59Z"},
])
async def test_date_only_bounds_are_400_with_the_format_named(http, project, path, params):
    """Analytics take full ISO 8601 datetimes, as the reference Pulse service does."""
    r = await http.get(path, params=params, headers=project.headers)
    assert r.status_code == 400, r.text
    field = "date_from" if "T" not in params["date_from"] else "date_to"
    message = r.json()["error"]
    assert message.startswith(f"Invalid {field} parameter") and "ISO 8601 datetime" in message


async def test_list_routes_still_take_dates(http, project):
    await _seed(http, project)
    r = await http.get("/v1/traces", params={"date_from": "2026-01-25", "date_to": "2026-01-26"},
                       headers=project.headers)
    assert r.status_code == 200 and r.json()["total"] == 3


async def test_auth_and_project_isolation(http, project, other_project):
    await _seed(http, project)
    assert (await http.get("/v1/analytics", params=RANGE)).status_code == 401
    r = await http.get("/v1/analytics", params=RANGE, headers=other_project.headers)
    assert r.json()["totalRequests"] == 0
    await http.post("/v1/spans/batch", json=[span_item()], headers=project.headers)
    r = await http.get("/v1/analytics/spans", params=RANGE, headers=other_project.headers)
    assert r.json()["totalSpans"] == 0


def _hook(event: str, ts: str, tool_use_id: str, **kw) -> dict:
    return span_item(event_type=event, timestamp=ts, tool_use_id=tool_use_id, **kw)


async def test_span_analytics_pairs_pre_and_post(http, project):
    spans = [
        _hook("pre_tool_use", "2026-01-25T10:00:00Z", "t1", duration_ms=None, status=None),
        _hook("post_tool_use", "2026-01-25T10:00:02Z", "t1", duration_ms=None),
        _hook("pre_tool_use", "2026-01-25T10:01:00Z", "t2", tool_name="Read", duration_ms=None),
        _hook("post_tool_use", "2026-01-25T10:01:00.5Z", "t2", tool_name="Read",
              duration_ms=500, status="error"),
        _hook("post_tool_use", "2026-01-25T10:02:00Z", "t3", duration_ms=100),
        span_item(kind="agent_run", event_type="stop", tool_use_id=None, tool_name=None,
                  timestamp="2026-01-25T10:03:00Z", duration_ms=180000, source="codex",
                  session_id="sess-2"),
    ]
    r = await http.post("/v1/spans/batch", json=spans, headers=project.headers)
    assert r.status_code == 202
    r = await http.get("/v1/analytics/spans", params={**RANGE, "group_by": "hour"},
                       headers=project.headers)
    body = r.json()
    assert body["totalSpans"] == 6 and body["toolCalls"] == 3 and body["agentRuns"] == 1
    assert body["topTools"] == [{"name": "Bash", "count": 2}, {"name": "Read", "count": 1}]
    assert body["avgDurationMs"] == pytest.approx((2000 + 500 + 100 + 180000) / 4)
    assert body["errorRate"] == 25 and body["successRate"] == 75
    assert body["spansByKind"] == [{"kind": "tool_use", "count": 5},
                                   {"kind": "agent_run", "count": 1}]
    assert body["spansBySource"] == [{"source": "claude_code", "count": 5},
                                     {"source": "codex", "count": 1}]
    assert body["spansOverTime"] == [{"period": "2026-01-25 10:00:00", "count": 6}]
    assert body["avgSessionDurationMs"] == pytest.approx((120000 + 0) / 2)
