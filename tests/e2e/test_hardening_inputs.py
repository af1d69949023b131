"""Hardening (issue 11, defect 6): inputs that used to give a 500, a reset connection or the
wrong gRPC code. Every one must get a 4xx with a JSON error body (or ``INVALID_ARGUMENT`` over
gRPC) and leave no ERROR traceback in the log. Real uvicorn server, real gRPC channel."""

from __future__ import annotations

import logging

import grpc
import pytest

from tests.support.otlp import JSON, PROTO, post

HUGE_RANGE = {"date_from": "0001-01-01T00:00:00Z", "date_to": "9999-12-31T00:00:00Z"}
RANGE_ROUTES = ["/v1/analytics", "/v1/analytics/spans", "/v1/traces", "/v1/spans", "/v1/sessions"]


def assert_json_400(r) -> dict:
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"]
    return body


@pytest.mark.parametrize("body", [
    b'{"resourceSpans": "\\ud800"}',
    b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "\\udfff"}]}]}]}',
    b'{"resourceSpans": [], "\\ud800": 1}',
])
async def test_lone_surrogate_in_otlp_json_is_400(http, project, body: bytes, caplog):
    with caplog.at_level(logging.ERROR):
        r = await post(http, project, "/v1/traces", body, JSON)
    data = assert_json_400(r)
    assert data["code"] == 3  # google.rpc INVALID_ARGUMENT
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]


@pytest.mark.parametrize("route", RANGE_ROUTES)
@pytest.mark.parametrize("dates", [
    HUGE_RANGE,
    {"date_from": "0001-01-01", "date_to": "9999-12-31"},
    {"date_from": "0001-01-01T00:00:00Z"},
    {"date_to": "9999-12-31T23:59:59Z"},
])
async def test_extreme_date_ranges_are_400(http, project, route: str, dates: dict, caplog):
    with caplog.at_level(logging.ERROR):
        r = await http.get(route, params=dates, headers=project.headers)
    body = assert_json_400(r)
    assert "date" in body["error"].lower() or "date" in str(body.get("details", "")).lower()
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]


@pytest.mark.parametrize("route", ["/v1/analytics", "/v1/analytics/spans"])
async def test_wide_but_sane_range_still_answers(http, project, route: str):
    r = await http.get(route, params={"date_from": "1971-01-01T00:00:00Z",
                                      "date_to": "2200-01-01T00:00:00Z"}, headers=project.headers)
    assert r.status_code in (200, 400), r.text  # never 5xx; 400 only with a JSON reason
    if r.status_code == 400:
        assert_json_400(r)


@pytest.mark.parametrize("payload", [
    b"\xff\xff\xff\xff",
    b"\x0a\x05\x0a\x03\x0a\x01",  # truncated nested message
    b"\x0a\xff\xff\xff\xff\x0f",  # length prefix far past the end
    b"\x0a\x06\x12\x04\x0a\x02\xc3\x28",  # invalid UTF-8 in a string field
    b"\x0a\x80" + b"\x0a\x80" * 200,  # deep nesting, lengths that lie
    b"\x0a" + b"\x0b",  # wire type 3 (start group): unsupported
    b"\x0a\x02\x0a\x00" * 3 + b"\x0f",
    bytes(range(256)),
])
async def test_malformed_grpc_protobuf_is_invalid_argument(grpc_target, project, payload, caplog):
    path = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
    async with grpc.aio.insecure_channel(grpc_target) as channel:
        call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
        with caplog.at_level(logging.ERROR), pytest.raises(grpc.aio.AioRpcError) as info:
            await call(payload, metadata=(("authorization", f"Bearer {project.key}"),),
                       timeout=20)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]


async def test_truncated_protobuf_over_http_is_400(http, project):
    r = await post(http, project, "/v1/traces", b"\x0a\xff\xff\xff\xff\x0f", PROTO)
    assert r.status_code == 400
