"""Errors: every authenticated route answers 401 exactly, odd values in ingest bodies never yield
a 500, and bad query strings and paths answer 400/404. Transport problems (size, media type,
encoding) are in test_errors_transport.py, random bodies in test_errors_fuzz.py."""

from __future__ import annotations

import json
import uuid

import pytest

from pulse.storage import accounts
from tests.factories import span_item, trace_item
from tests.support.native import (
    INGEST_ROUTES,
    assert_error,
    body_for,
    call,
    fetch,
    raw,
)

ZERO = str(uuid.UUID(int=0))
READ_ROUTES = [
    "/v1/traces", f"/v1/traces/{ZERO}", "/v1/spans", f"/v1/spans/{ZERO}", "/v1/sessions/s1",
    "/v1/sessions/s1/spans",
]
MISSING_HEADER = {"error": "Missing or invalid Authorization header"}
INVALID_KEY = {"error": "Invalid API key"}


# ---- authentication ------------------------------------------------------------------------------

@pytest.mark.parametrize("route", INGEST_ROUTES + READ_ROUTES)
@pytest.mark.parametrize("header", [
    None, "", "Basic x", "Basic dXNlcjpwYXNz", "Bearer", "Token pulse_sk_x",
    "pulse_sk_abc", "Bearer a b",
])
async def test_missing_or_malformed_header(http, route, header):
    headers = {} if header is None else {"Authorization": header}
    r = await call(http, route, headers)
    assert r.status_code == 401
    assert r.json() == MISSING_HEADER


@pytest.mark.parametrize("route", INGEST_ROUTES + READ_ROUTES)
@pytest.mark.parametrize("token", [
    "pulse_sk_unknown", "pulse_sk_" + "a" * 43, "random-token", "x" * 5000,
])
async def test_unknown_key(http, route, token):
    r = await call(http, route, {"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.json() == INVALID_KEY


async def test_auth_comes_before_body_validation(http):
    for route in INGEST_ROUTES:
        r = await call(http, route, {}, content=b"not json")
        assert r.json() == MISSING_HEADER
        r = await call(http, route, {"Authorization": "Bearer pulse_sk_nope"}, content=b"[]")
        assert r.json() == INVALID_KEY


async def test_scheme_is_case_insensitive(http, project):
    r = await http.get("/v1/traces", headers={"Authorization": f"bearer {project.key}"})
    assert r.status_code == 200


async def test_revoked_key_is_refused_immediately(http, pool, project):
    r = await http.post("/v1/traces/batch", json=[trace_item()], headers=project.headers)
    assert r.status_code == 202
    assert await accounts.revoke_key(pool, project.key_id)
    for route in INGEST_ROUTES + READ_ROUTES:
        r = await call(http, route, project.headers)
        assert r.status_code == 401, route
        assert r.json() == INVALID_KEY


async def test_other_key_of_same_project_still_works_after_revoke(http, pool, project):
    second = await accounts.create_key(pool, project.id, "second")
    await accounts.revoke_key(pool, project.key_id)
    r = await http.get("/v1/traces", headers={"Authorization": f"Bearer {second.key}"})
    assert r.status_code == 200


# ---- bad JSON and odd values ---------------------------------------------------------------------

@pytest.mark.parametrize("route", INGEST_ROUTES)
@pytest.mark.parametrize("body", [
    b"[NaN]", b"[Infinity]", b"[-Infinity]", b'[{"latency_ms": NaN}]', b"[" * 100_000 +
    b"]" * 100_000, b"\x00\x01", b'["\xff"]', b"[1]]", b"{" * 50_000,
])
async def test_malformed_json(http, project, route, body):
    r = await call(http, route, project.headers, content=body)
    assert r.status_code == 400
    assert r.json() == {"error": "Invalid JSON body"}


@pytest.mark.parametrize("field, literal", [
    ("latency_ms", "1e400"), ("latency_ms", "-1e400"), ("latency_ms", str(2**70)),
    ("cost_cents", "1e400"), ("cost_cents", str(2**70)), ("input_tokens", str(2**70)),
    ("input_tokens", "1e400"), ("output_tokens", "1e19"), ("latency_ms", "1e13"),
])
async def test_huge_numbers_in_checked_fields(http, project, field, literal):
    item = trace_item()
    item[field] = "__X__"
    body = json.dumps([item]).replace('"__X__"', literal).encode()
    for route in ("/v1/traces/batch", "/v1/traces/async"):
        r = await call(http, route, project.headers, content=body)
        detail = assert_error(r, 400)["details"]
        assert [(d["index"], d["field"]) for d in detail] == [(0, field)]


async def test_huge_numbers_inside_json_blobs(http, project):
    item = trace_item(request_body={"a": "__A__", "b": "__B__", "c": "__C__"})
    body = (json.dumps([item]).replace('"__A__"', str(2**70)).replace('"__B__"', "1e400")
            .replace('"__C__"', "-1e400").encode())
    r = await call(http, "/v1/traces/batch", project.headers, content=body)
    assert r.status_code == 202, r.text
    stored = r.json()["traces"][0]["requestBody"]
    assert stored["a"] in (2**70, str(2**70))
    assert stored["b"] is None and stored["c"] is None


async def test_max_int64_tokens_do_not_break_storage(http, project):
    big = 2**63 - 1
    for model in ("gpt-4o", "claude-opus-4-1"):
        item = trace_item(model_requested=model, model_used=None, input_tokens=big,
                          output_tokens=big)
        r = await call(http, "/v1/traces/batch", project.headers, content=raw([item]))
        assert r.status_code == 202, r.text
        row = r.json()["traces"][0]
        assert (row["inputTokens"], row["outputTokens"]) == (big, big)
        assert row["costCents"] is None  # beyond any plausible cost: not stored


async def test_token_sums_beyond_int64_are_reported_exactly(http, project):
    """Rollups and analytics sum token counts: two max-int64 counts must not overflow."""
    big = 2**63 - 1
    items = [trace_item(input_tokens=big, output_tokens=1, session_id="huge",
                        timestamp=f"2026-03-0{i}T10:00:00Z") for i in (1, 2)]
    r = await call(http, "/v1/traces/batch", project.headers, content=raw(items))
    assert r.status_code == 202, r.text
    got = await http.get("/v1/analytics", headers=project.headers, params={
        "date_from": "2026-03-01T00:00:00Z", "date_to": "2026-03-03T00:00:00Z"})
    assert got.status_code == 200, got.text
    assert got.json()["totalTokens"] == {"input": 2 * big, "output": 2, "total": 2 * big + 2}
    sessions = await http.get("/v1/sessions", headers=project.headers)
    assert sessions.status_code == 200, sessions.text


@pytest.mark.parametrize("usage", [
    {"prompt_tokens_details": "x"}, {"input_tokens_details": [1]}, "usage", [1],
    {"cache_read_input_tokens": "9", "cache_creation_input_tokens": True},
    {"prompt_tokens_details": {"cached_tokens": 2**70}},
])
async def test_odd_usage_blocks_never_500(http, project, usage):
    item = trace_item(response_body={"usage": usage})
    r = await call(http, "/v1/traces/batch", project.headers, content=raw([item]))
    assert r.status_code == 202, r.text
    assert r.json()["traces"][0]["costCents"] == 0.75


@pytest.mark.parametrize("stamp", [
    "0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59Z", "1969-12-31T23:59:59Z", "2026-01-25T23:59:60Z",
    "2026-02-29T00:00:00Z", "2026-01-25T24:00:00Z",
])
async def test_extreme_timestamps_never_500(http, project, stamp):
    for route in INGEST_ROUTES:
        item = body_for(route)[0]
        item["timestamp"] = stamp
        r = await call(http, route, project.headers, content=raw([item]))
        assert r.status_code in (202, 400), (route, r.status_code, r.text)
        if r.status_code == 400:
            assert r.json()["details"][0]["field"] == "timestamp"


@pytest.mark.parametrize("depth", [10, 100, 200, 300, 600, 1000, 1100])
async def test_deep_json_blobs_never_500(http, project, depth):
    nested = "[" * depth + "]" * depth
    for route in INGEST_ROUTES:
        item = body_for(route)[0]
        key = "request_body" if "/traces/" in route else "tool_input"
        item[key] = {"deep": "__D__"} if key == "request_body" else "__D__"
        body = json.dumps([item]).replace('"__D__"', nested).encode()
        r = await call(http, route, project.headers, content=body)
        assert r.status_code in (202, 400), (route, r.status_code, r.text)
        if depth <= 100:
            assert r.status_code == 202
        elif r.status_code == 400 and r.json()["error"] == "Validation failed":
            assert [d["field"] for d in r.json()["details"]] == [key]
        if depth >= 300:
            assert r.status_code == 400


async def test_nul_and_lone_surrogates_are_stored_as_replacement(http, project):
    bad = "a\u0000b\ud800c"
    clean = "a\ufffdb\ufffdc"
    item = trace_item(
        request_body={bad: bad, "list": [bad]}, output_text=bad, metadata={bad: 1},
        session_id=bad, model_requested=bad, error={"m": bad},
    )
    r = await call(http, "/v1/traces/batch", project.headers, content=raw([item]))
    assert r.status_code == 202, r.text
    row = r.json()["traces"][0]
    assert row["requestBody"] == {clean: clean, "list": [clean]}
    assert row["outputText"] == clean
    assert row["metadata"][clean] == 1
    assert row["sessionId"] == clean
    assert row["modelRequested"] == clean
    assert row["error"] == {"m": clean}
    span = span_item(tool_input={bad: [bad]}, tool_response=bad, metadata={bad: bad},
                     tool_name=bad, cwd=bad)
    r = await call(http, "/v1/spans/async", project.headers, content=raw([span]))
    assert r.status_code == 202, r.text
    got = await fetch(http, project, "spans", span["span_id"])
    assert got.status_code == 200, got.text
    row = got.json()
    assert row["toolInput"] == {clean: [clean]}
    assert row["toolResponse"] == clean
    assert row["metadata"] == {clean: clean}
    assert (row["toolName"], row["cwd"]) == (clean, clean)


@pytest.mark.parametrize("value", ["a\u0000b", "\ud800", "not-a-uuid\u0000"])
async def test_nul_in_ids_is_a_validation_error(http, project, value):
    r = await call(http, "/v1/traces/batch", project.headers,
                   content=raw([trace_item(trace_id=value)]))
    assert r.json()["details"][0]["field"] == "trace_id"
    r = await call(http, "/v1/spans/batch", project.headers,
                   content=raw([span_item(span_id=value)]))
    assert r.json()["details"][0]["field"] == "span_id"

# ---- query strings and paths ---------------------------------------------------------------------

@pytest.mark.parametrize("path, params", [
    ("/v1/traces", {"session_id": "a\x00b"}), ("/v1/traces", {"provider": "\x00"}),
    ("/v1/traces", {"model": "m" * 8000}), ("/v1/traces", {"limit": "9" * 8000}),
    ("/v1/traces", {"offset": "9" * 30}), ("/v1/traces", {"date_from": "2" * 8000}),
    ("/v1/traces", {"date_to": "\x00"}), ("/v1/spans", {"tool_name": "\x00"}),
    ("/v1/spans", {"status": "s" * 100}), ("/v1/spans", {"kind": "\x00"}),
    ("/v1/spans", {"source": "x" * 8000}), ("/v1/spans", {"date_from": "\ud7ff"}),
])
async def test_bad_query_strings_are_400(http, project, path, params):
    r = await http.get(path, params=params, headers=project.headers)
    assert_error(r, 400)


@pytest.mark.parametrize("path", [
    "/v1/traces/" + "a" * 8000, "/v1/spans/" + "b" * 8000, "/v1/sessions/" + "c" * 8000,
    "/v1/sessions/" + "c" * 8000 + "/spans", "/v1/traces/%00", "/v1/spans/%ff%fe",
    "/v1/sessions/%00", "/v1/sessions/%ff/spans", "/v1/traces/..%2F..%2Fetc",
])
async def test_odd_path_ids_are_404(http, project, path):
    r = await http.get(path, headers=project.headers)
    assert_error(r, 404)


async def test_unknown_route_and_method(http, project):
    r = await http.get("/v1/nope", headers=project.headers)
    assert r.status_code == 404
    assert r.json() == {"error": "Not found"}
    r = await http.delete("/v1/traces", headers=project.headers)
    assert r.status_code == 405
    assert r.json() == {"error": "Method not allowed"}
