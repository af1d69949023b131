"""Errors: every authenticated route answers 401 exactly, and bad input never yields a 500."""

from __future__ import annotations

import asyncio
import gzip
import json
import random
import uuid
import zlib

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulse.storage import accounts
from tests.conftest import TEST_MAX_BODY
from tests.factories import span_item, trace_item

INGEST_ROUTES = ["/v1/traces/async", "/v1/traces/batch", "/v1/spans/async", "/v1/spans/batch"]
ZERO = str(uuid.UUID(int=0))
READ_ROUTES = [
    "/v1/traces", f"/v1/traces/{ZERO}", "/v1/spans", f"/v1/spans/{ZERO}", "/v1/sessions/s1",
    "/v1/sessions/s1/spans",
]
MISSING_HEADER = {"error": "Missing or invalid Authorization header"}
INVALID_KEY = {"error": "Invalid API key"}
JSON_CT = {"Content-Type": "application/json"}


def body_for(route: str) -> list:
    return [trace_item()] if "/traces/" in route else [span_item()]


async def call(http, route: str, headers: dict, content: bytes | None = None):
    if route in INGEST_ROUTES:
        data = content if content is not None else json.dumps(body_for(route)).encode()
        return await http.post(route, content=data, headers={**JSON_CT, **headers})
    return await http.get(route, headers=headers)


def raw(value) -> bytes:
    """JSON text with ASCII escapes (so lone surrogates survive as \\ud800)."""
    return json.dumps(value, ensure_ascii=True).encode()


async def fetch(http, project, kind: str, item_id: str, wait: float = 3.0):
    """GET one row, polling briefly: /async data is readable shortly after the 202."""
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        r = await http.get(f"/v1/{kind}/{item_id}", headers=project.headers)
        if r.status_code != 404 or asyncio.get_running_loop().time() > deadline:
            return r
        await asyncio.sleep(0.05)


def assert_error(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"]
    return body


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


# ---- transport: size, media type, encoding -------------------------------------------------------

def big_body(route: str, size: int) -> bytes:
    item = body_for(route)[0]
    key = "output_text" if "/traces/" in route else "cwd"
    item[key] = "x" * size
    return raw([item])


@pytest.mark.parametrize("route", INGEST_ROUTES)
async def test_oversized_body_413(http, project, route):
    r = await call(http, route, project.headers, content=big_body(route, TEST_MAX_BODY + 10))
    assert_error(r, 413)


@pytest.mark.parametrize("route", INGEST_ROUTES)
async def test_body_just_under_limit_is_fine(http, project, route):
    body = big_body(route, 1000)
    body = big_body(route, 1000 + TEST_MAX_BODY - len(body) - 100)
    assert len(body) <= TEST_MAX_BODY
    r = await call(http, route, project.headers, content=body)
    assert r.status_code in (202, 400), r.text  # 400 only when a field length rule applies


@pytest.mark.parametrize("route", INGEST_ROUTES)
async def test_oversized_chunked_body_413(server, project, route):
    async def chunks():
        for _ in range(40):
            yield b" " * 65536
        yield raw(body_for(route))

    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        try:
            r = await client.post(route, content=chunks(), headers={**JSON_CT, **project.headers})
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            pytest.fail(f"server dropped the connection instead of answering 413: {exc!r}")
    assert "content-length" not in r.request.headers
    assert_error(r, 413)


@pytest.mark.parametrize("route", INGEST_ROUTES)
async def test_small_chunked_body_is_accepted(server, project, route):
    payload = raw(body_for(route))

    async def chunks():
        for i in range(0, len(payload), 50):
            yield payload[i:i + 50]

    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        r = await client.post(route, content=chunks(), headers={**JSON_CT, **project.headers})
    assert r.status_code == 202, r.text


@pytest.mark.parametrize("route", INGEST_ROUTES)
@pytest.mark.parametrize("ctype", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/x-protobuf", "application/xml",
])
async def test_wrong_content_type_415(http, project, route, ctype):
    r = await http.post(route, content=raw(body_for(route)),
                        headers={**project.headers, "Content-Type": ctype})
    assert_error(r, 415)


@pytest.mark.parametrize("route", INGEST_ROUTES)
@pytest.mark.parametrize("ctype", ["application/json; charset=utf-8", "APPLICATION/JSON"])
async def test_json_content_type_variants_accepted(http, project, route, ctype):
    r = await http.post(route, content=raw(body_for(route)),
                        headers={**project.headers, "Content-Type": ctype})
    assert r.status_code == 202, r.text


@pytest.mark.parametrize("route", INGEST_ROUTES)
@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compressed_body_accepted(http, project, route, encoding):
    items = body_for(route)
    data = raw(items)
    packed = gzip.compress(data) if encoding == "gzip" else zlib.compress(data)
    r = await http.post(route, content=packed, headers={
        **project.headers, **JSON_CT, "Content-Encoding": encoding})
    assert r.status_code == 202, r.text
    kind, key = ("traces", "trace_id") if "/traces/" in route else ("spans", "span_id")
    got = await fetch(http, project, kind, items[0][key])
    assert got.status_code == 200


def gzip_of_zeros(megabytes: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"0" * (1024 * 1024)
    out = [packer.compress(block) for _ in range(megabytes)]
    out.append(packer.flush())
    return b"".join(out)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = gzip_of_zeros(100)
    assert len(data) < TEST_MAX_BODY
    return data


@pytest.mark.parametrize("route", INGEST_ROUTES)
async def test_gzip_bomb_413(http, project, route, bomb):
    r = await http.post(route, content=bomb, headers={
        **project.headers, **JSON_CT, "Content-Encoding": "gzip"})
    assert_error(r, 413)


@pytest.mark.parametrize("route", INGEST_ROUTES)
@pytest.mark.parametrize("packed", [
    b"not gzip at all", gzip.compress(b"[1,2,3]")[:-6], b"\x1f\x8b\x08\x00garbage",
])
async def test_corrupt_gzip_400(http, project, route, packed):
    r = await http.post(route, content=packed, headers={
        **project.headers, **JSON_CT, "Content-Encoding": "gzip"})
    assert_error(r, 400)


@pytest.mark.parametrize("route", INGEST_ROUTES)
@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "gzip, br"])
async def test_unknown_content_encoding_415(http, project, route, encoding):
    r = await http.post(route, content=raw(body_for(route)), headers={
        **project.headers, **JSON_CT, "Content-Encoding": encoding})
    assert_error(r, 415)


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


# ---- random JSON (hypothesis) --------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
FIELD_NAMES = sorted(set(trace_item()) | set(span_item()))
items_with_random_fields = st.lists(
    st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=12), max_size=5
)
bodies = json_values | items_with_random_fields | st.lists(
    st.builds(lambda base, extra: {**base, **extra},
              st.sampled_from([trace_item(), span_item()]),
              st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=3)),
    min_size=1, max_size=3,
)


def run_hypothesis_check(server: str, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:

        @settings(max_examples=50, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(route=st.sampled_from(INGEST_ROUTES), body=bodies)
        def check(route: str, body) -> None:
            data = json.dumps(body, ensure_ascii=True).encode()
            r = client.post(route, content=data, headers={**headers, **JSON_CT})
            assert r.status_code in (202, 400, 413, 415), (r.status_code, r.text, data[:500])
            if r.status_code != 202:
                assert isinstance(r.json().get("error"), str)

        check()


async def test_random_json_never_500(server, project):
    await asyncio.to_thread(run_hypothesis_check, server, project.headers)


async def test_random_valid_items_with_mutations(http, project):
    """Deterministic fuzz: valid items with one field replaced by a random odd value."""
    rng = random.Random(1234)
    odd = [None, True, False, 0, -1, 1.5, -0.0, 2**63, 2**64, "", " ", "\u0000", "\ud800",
           "x" * 300, [], {}, [None], {"": None}, "2026-01-25T12:00:00Z", str(uuid.uuid4())]
    for _ in range(60):
        route = rng.choice(INGEST_ROUTES)
        item = body_for(route)[0]
        field = rng.choice(sorted(item) + ["extra", "trace_id", "span_id"])
        item[field] = rng.choice(odd)
        r = await call(http, route, project.headers, content=raw([item]))
        assert r.status_code in (202, 400), (route, field, item[field], r.text)
        if r.status_code == 400:
            assert r.json()["error"] == "Validation failed"
            assert r.json()["details"][0]["field"] == field
