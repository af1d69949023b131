"""Query API (docs/api.md §Query routes): single rows, lists, pagination, every filter, sessions,
health."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from tests.factories import span_item, trace_item


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC).timestamp()


# t1..t4 in time order; see the filter tests for what each one is for.
TRACES = {
    "t1": dict(timestamp="2026-01-20T10:00:00Z", provider="openai", model_requested="gpt-4o",
               model_used="gpt-4o-2024-08-06", status="success", session_id="s1"),
    "t2": dict(timestamp="2026-01-21T00:00:00Z", provider="anthropic",
               model_requested="claude-sonnet-4-5", model_used=None, status="error",
               session_id="s2", error={"message": "overloaded"}),
    "t3": dict(timestamp="2026-01-21T23:59:59.999Z", provider="openrouter",
               model_requested="openai/gpt-4o-mini", model_used="gpt-4o-mini", status="success",
               session_id="s1"),
    "t4": dict(timestamp="2026-01-22T00:00:00Z", provider="openai", model_requested="gpt-4.1",
               model_used="gpt-4o", status="error", session_id=None),
}

SPANS = {
    "p1": dict(timestamp="2026-01-20T10:00:00Z", session_id="s1", source="claude_code",
               kind="tool_use", tool_name="Bash", status="success"),
    "p2": dict(timestamp="2026-01-21T00:00:00Z", session_id="s1", source="codex",
               kind="agent_run", tool_name=None, status="error"),
    "p3": dict(timestamp="2026-01-21T23:59:59.999Z", session_id="s2", source="claude_code",
               kind="tool_use", tool_name="Read", status="success"),
    "p4": dict(timestamp="2026-01-22T00:00:00Z", session_id="s1", source="claude_code",
               kind="user_prompt", tool_name=None, status=None),
}


@pytest_asyncio.fixture(loop_scope="session")
async def seeded(http, project):
    """Post the four traces and four spans (shuffled); returns name -> id for both."""
    ids: dict[str, str] = {}
    traces = []
    for name in ("t3", "t1", "t4", "t2"):
        item = trace_item(**TRACES[name])
        ids[name] = item["trace_id"]
        traces.append(item)
    spans = []
    for name in ("p2", "p4", "p1", "p3"):
        item = span_item(**SPANS[name])
        ids[name] = item["span_id"]
        spans.append(item)
    r = await http.post("/v1/traces/batch", json=traces, headers=project.headers)
    assert r.status_code == 202, r.text
    r = await http.post("/v1/spans/batch", json=spans, headers=project.headers)
    assert r.status_code == 202, r.text
    return ids


async def list_names(http, project, ids, kind: str, params: dict) -> list[str]:
    r = await http.get(f"/v1/{kind}", params=params, headers=project.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    key = "traceId" if kind == "traces" else "spanId"
    by_id = {v: k for k, v in ids.items()}
    names = [by_id[row[key]] for row in body[kind]]
    assert body["total"] == len(names)
    return names


# ---- health --------------------------------------------------------------------------------------

async def test_health_needs_no_auth(http):
    r = await http.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "service": "pulse"}
    r = await http.get("/health/ready")
    assert r.status_code == 200
    assert r.json()["status"] == "ready"


# ---- single rows ---------------------------------------------------------------------------------

async def test_get_trace_by_id(http, project, seeded):
    r = await http.get(f"/v1/traces/{seeded['t2']}", headers=project.headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    row = r.json()
    assert row["traceId"] == seeded["t2"]
    assert row["provider"] == "anthropic"
    assert row["status"] == "error"
    assert row["error"] == {"message": "overloaded"}
    assert row["modelUsed"] is None
    assert row["timestamp"] == "2026-01-21T00:00:00.000Z"


async def test_get_trace_id_forms(http, project, seeded):
    wanted = seeded["t1"]
    for form in (wanted.upper(), uuid.UUID(wanted).hex):
        r = await http.get(f"/v1/traces/{form}", headers=project.headers)
        assert r.status_code == 200, form
        assert r.json()["traceId"] == wanted


async def test_get_span_by_id(http, project, seeded):
    r = await http.get(f"/v1/spans/{seeded['p3']}", headers=project.headers)
    assert r.status_code == 200
    row = r.json()
    assert row["spanId"] == seeded["p3"]
    assert row["toolName"] == "Read"
    assert row["sessionId"] == "s2"


@pytest.mark.parametrize("kind, message", [("traces", "Trace not found"),
                                           ("spans", "Span not found")])
@pytest.mark.parametrize("bad", [str(uuid.uuid4()), "not-a-uuid", "123", "%20", "x" * 5000,
                                 "00000000-0000-0000-0000-000000000000"])
async def test_unknown_ids_404(http, project, seeded, kind, message, bad):
    r = await http.get(f"/v1/{kind}/{bad}", headers=project.headers)
    assert r.status_code == 404
    assert r.json() == {"error": message}


async def test_trace_id_is_not_a_span_id(http, project, seeded):
    r = await http.get(f"/v1/spans/{seeded['t1']}", headers=project.headers)
    assert r.json() == {"error": "Span not found"}
    r = await http.get(f"/v1/traces/{seeded['p1']}", headers=project.headers)
    assert r.json() == {"error": "Trace not found"}


# ---- sessions ------------------------------------------------------------------------------------

async def test_session_traces_oldest_first(http, project, seeded):
    r = await http.get("/v1/sessions/s1", headers=project.headers)
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["sessionId", "traces"]
    assert body["sessionId"] == "s1"
    assert [t["traceId"] for t in body["traces"]] == [seeded["t1"], seeded["t3"]]
    assert all(t["sessionId"] == "s1" for t in body["traces"])


async def test_session_spans_oldest_first(http, project, seeded):
    r = await http.get("/v1/sessions/s1/spans", headers=project.headers)
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["sessionId", "spans"]
    assert body["sessionId"] == "s1"
    assert [s["spanId"] for s in body["spans"]] == [seeded["p1"], seeded["p2"], seeded["p4"]]


async def test_session_not_found(http, project, seeded):
    for path in ("/v1/sessions/nope", "/v1/sessions/nope/spans", "/v1/sessions/S1",
                 "/v1/sessions/" + "x" * 300, "/v1/sessions/s1%00"):
        r = await http.get(path, headers=project.headers)
        assert r.status_code == 404, path
        assert r.json() == {"error": "Session not found"}, path


async def test_session_with_traces_but_no_spans(http, project):
    item = trace_item(session_id="only-traces")
    await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    r = await http.get("/v1/sessions/only-traces", headers=project.headers)
    assert r.status_code == 200
    r = await http.get("/v1/sessions/only-traces/spans", headers=project.headers)
    assert r.status_code == 404
    assert r.json() == {"error": "Session not found"}


async def test_session_id_with_odd_characters(http, project):
    sid = "conv é #1?&x=y"
    item = trace_item(session_id=sid)
    await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    from urllib.parse import quote
    r = await http.get(f"/v1/sessions/{quote(sid, safe='')}", headers=project.headers)
    assert r.status_code == 200, r.text
    assert r.json()["sessionId"] == sid
    assert [t["traceId"] for t in r.json()["traces"]] == [item["trace_id"]]


# ---- pagination ----------------------------------------------------------------------------------

@pytest_asyncio.fixture(loop_scope="session")
async def five(http, project):
    items = [trace_item(timestamp=f"2026-01-2{i}T12:00:00Z") for i in range(5)]
    r = await http.post("/v1/traces/batch", json=items[::-1], headers=project.headers)
    assert r.status_code == 202
    return [i["trace_id"] for i in items[::-1]]  # newest first


async def page(http, project, **params):
    r = await http.get("/v1/traces", params=params, headers=project.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_list_defaults_newest_first(http, project, five):
    body = await page(http, project)
    assert list(body) == ["traces", "total", "limit", "offset"]
    assert [t["traceId"] for t in body["traces"]] == five
    assert (body["total"], body["limit"], body["offset"]) == (5, 100, 0)


@pytest.mark.parametrize("limit, offset, expect", [
    (2, 0, slice(0, 2)), (2, 2, slice(2, 4)), (2, 4, slice(4, 5)), (1, 0, slice(0, 1)),
    (1000, 0, slice(0, 5)), (3, 5, slice(5, 5)), (10, 1000, slice(0, 0)),
])
async def test_limit_offset(http, project, five, limit, offset, expect):
    body = await page(http, project, limit=limit, offset=offset)
    assert [t["traceId"] for t in body["traces"]] == five[expect]
    assert (body["total"], body["limit"], body["offset"]) == (5, limit, offset)


async def test_spans_pagination(http, project, seeded):
    r = await http.get("/v1/spans", params={"limit": 2, "offset": 1}, headers=project.headers)
    body = r.json()
    assert [s["spanId"] for s in body["spans"]] == [seeded["p3"], seeded["p2"]]
    assert (body["total"], body["limit"], body["offset"]) == (4, 2, 1)
    r = await http.get("/v1/spans", params={"offset": 9}, headers=project.headers)
    assert r.json() == {"spans": [], "total": 4, "limit": 100, "offset": 9}


@pytest.mark.parametrize("kind", ["traces", "spans"])
@pytest.mark.parametrize("params, field", [
    ({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"limit": -1}, "limit"),
    ({"limit": "abc"}, "limit"), ({"limit": "1.5"}, "limit"), ({"limit": "9" * 40}, "limit"),
    ({"offset": -1}, "offset"), ({"offset": "x"}, "offset"),
])
async def test_bad_paging(http, project, kind, params, field):
    r = await http.get(f"/v1/{kind}", params=params, headers=project.headers)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "Invalid query parameters"
    assert [d["field"] for d in body["details"]] == [field]


@pytest.mark.parametrize("kind, params", [
    ("traces", {"status": "bogus"}), ("spans", {"source": "cursor"}),
    ("spans", {"kind": "tool"}), ("traces", {"session_id": "x" * 257}),
])
async def test_bad_filter_values(http, project, kind, params):
    r = await http.get(f"/v1/{kind}", params=params, headers=project.headers)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "Invalid query parameters"
    assert [d["field"] for d in r.json()["details"]] == list(params)


# ---- trace filters -------------------------------------------------------------------------------

@pytest.mark.parametrize("params, expected", [
    ({}, ["t4", "t3", "t2", "t1"]),
    ({"session_id": "s1"}, ["t3", "t1"]),
    ({"session_id": "s2"}, ["t2"]),
    ({"session_id": "nope"}, []),
    ({"provider": "openai"}, ["t4", "t1"]),
    ({"provider": "OpenAI"}, ["t4", "t1"]),
    ({"provider": "ANTHROPIC"}, ["t2"]),
    ({"model": "gpt-4o"}, ["t4", "t1"]),  # requested for t1, used for t4
    ({"model": "gpt-4o-mini"}, ["t3"]),
    ({"model": "openai/gpt-4o-mini"}, ["t3"]),
    ({"model": "claude-sonnet-4-5"}, ["t2"]),
    ({"status": "error"}, ["t4", "t2"]),
    ({"status": "success"}, ["t3", "t1"]),
    ({"provider": "openai", "status": "error"}, ["t4"]),
    ({"session_id": "s1", "model": "gpt-4o"}, ["t1"]),
])
async def test_trace_filters(http, project, seeded, params, expected):
    assert await list_names(http, project, seeded, "traces", params) == expected


DATE_CASES = [
    ({"date_from": "2026-01-21"}, ["t4", "t3", "t2"]),
    ({"date_to": "2026-01-21"}, ["t3", "t2", "t1"]),
    ({"date_from": "2026-01-21", "date_to": "2026-01-21"}, ["t3", "t2"]),
    ({"date_to": "2026-01-20"}, ["t1"]),
    ({"date_from": "2026-01-23"}, []),
    ({"date_from": "2026-01-21T00:00:00Z"}, ["t4", "t3", "t2"]),
    ({"date_from": "2026-01-21T00:00:00.001Z"}, ["t4", "t3"]),
    ({"date_to": "2026-01-21T00:00:00Z"}, ["t2", "t1"]),
    ({"date_to": "2026-01-21T01:00:00+01:00"}, ["t2", "t1"]),
    ({"date_from": "2026-01-21T05:30:00+05:30"}, ["t4", "t3", "t2"]),
    ({"date_from": "2026-01-20T19:00:00-05:00"}, ["t4", "t3", "t2"]),
    ({"date_from": "2026-01-21T00:00:00"}, ["t4", "t3", "t2"]),  # naive is UTC
    ({"date_from": str(int(epoch("2026-01-21T00:00:00Z")))}, ["t4", "t3", "t2"]),
    ({"date_to": str(int(epoch("2026-01-21T00:00:00Z")))}, ["t2", "t1"]),
    ({"date_to": str(int(epoch("2026-01-21T23:59:59.999Z") * 1000))}, ["t3", "t2", "t1"]),
    ({"date_to": str(int(epoch("2026-01-21T23:59:59.999Z") * 1000) - 1)}, ["t2", "t1"]),
    ({"date_from": str(int(epoch("2026-01-21T23:59:59.999Z") * 1000))}, ["t4", "t3"]),
    ({"date_from": "2026-01-20", "date_to": str(int(epoch("2026-01-20T10:00:00Z")))}, ["t1"]),
]


@pytest.mark.parametrize("params, expected", DATE_CASES)
async def test_trace_date_filters(http, project, seeded, params, expected):
    assert await list_names(http, project, seeded, "traces", params) == expected


@pytest.mark.parametrize("params, expected", DATE_CASES)
async def test_span_date_filters(http, project, seeded, params, expected):
    expected = ["p" + name[1] for name in expected]
    assert await list_names(http, project, seeded, "spans", params) == expected


@pytest.mark.parametrize("kind", ["traces", "spans"])
@pytest.mark.parametrize("name", ["date_from", "date_to"])
@pytest.mark.parametrize("value", [
    "garbage", "2026-02-30", "2026-13-01", "12abc", "2026-01-21T25:00:00Z", "9" * 16,
    "9" * 30, "-5", "1e10", "2026/01/21", "\x00",
])
async def test_invalid_dates(http, project, kind, name, value):
    r = await http.get(f"/v1/{kind}", params={name: value}, headers=project.headers)
    assert r.status_code == 400, (value, r.text)
    assert r.json() == {"error": f"Invalid {name} parameter"}


# ---- span filters --------------------------------------------------------------------------------

@pytest.mark.parametrize("params, expected", [
    ({}, ["p4", "p3", "p2", "p1"]),
    ({"session_id": "s1"}, ["p4", "p2", "p1"]),
    ({"session_id": "s2"}, ["p3"]),
    ({"source": "claude_code"}, ["p4", "p3", "p1"]),
    ({"source": "codex"}, ["p2"]),
    ({"source": "openclaw"}, []),
    ({"kind": "tool_use"}, ["p3", "p1"]),
    ({"kind": "agent_run"}, ["p2"]),
    ({"tool_name": "Bash"}, ["p1"]),
    ({"tool_name": "Read"}, ["p3"]),
    ({"tool_name": "Write"}, []),
    ({"status": "error"}, ["p2"]),
    ({"status": "success"}, ["p3", "p1"]),
    ({"session_id": "s1", "kind": "tool_use"}, ["p1"]),
    ({"source": "claude_code", "date_from": "2026-01-21"}, ["p4", "p3"]),
])
async def test_span_filters(http, project, seeded, params, expected):
    assert await list_names(http, project, seeded, "spans", params) == expected


async def test_empty_filter_values_are_ignored(http, project, seeded):
    params = {"session_id": "", "provider": "", "date_from": "", "limit": ""}
    names = await list_names(http, project, seeded, "traces", params)
    assert names == ["t4", "t3", "t2", "t1"]
