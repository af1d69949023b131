"""OTLP body decoding (mapping.otlp.decode): both encodings, OTLP/JSON quirks, clean failures."""

from __future__ import annotations

import base64
import json

import pytest

from pulse.errors import InvalidInput, UnsupportedMediaType
from pulse.mapping.otlp.decode import (
    decode_logs_request,
    decode_metrics_request,
    decode_traces_request,
)

JSON_CT, PROTO_CT = "application/json", "application/x-protobuf"


def _span_body(**span: object) -> bytes:
    base = {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "00f067aa0ba902b7",
            "name": "x", "startTimeUnixNano": "1787220000000000000"}
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{**base, **span}]}]}]}
                      ).encode()


def test_hex_ids_int64_strings_and_enum_ints() -> None:
    req = decode_traces_request(_span_body(kind=3, status={"code": 2},
                                           endTimeUnixNano=1787220000000000001), JSON_CT)
    span = req.resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id.hex() == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert span.span_id.hex() == "00f067aa0ba902b7"
    assert span.kind == 3 and span.status.code == 2
    assert span.start_time_unix_nano == 1787220000000000000


def test_snake_case_keys_unknown_fields_and_empty_parent() -> None:
    body = json.dumps({"resource_spans": [{"scope_spans": [{"spans": [{
        "trace_id": "4BF92F3577B34DA6A3CE929D0E0E4736", "span_id": "00f067aa0ba902b7",
        "parent_span_id": "", "whatever": 1}]}], "extra": True}]}).encode()
    span = decode_traces_request(body, JSON_CT).resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id.hex() == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert span.parent_span_id == b""


def test_base64_ids_tolerated() -> None:
    b64 = base64.b64encode(bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736")).decode()
    span = decode_traces_request(_span_body(traceId=b64), JSON_CT)
    assert span.resource_spans[0].scope_spans[0].spans[0].trace_id.hex().startswith("4bf9")


def test_protobuf_round_trip() -> None:
    req = decode_traces_request(_span_body(), JSON_CT)
    again = decode_traces_request(req.SerializeToString(), PROTO_CT)
    assert again == req


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"resourceSpans": "nope"}',
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz"}]}]}]}',
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "abc"}]}]}]}',
        b"\xff\xfe\x00",
        b"[" * 100000,
    ],
)
def test_bad_json_raises_invalid_input(body: bytes) -> None:
    with pytest.raises(InvalidInput):
        decode_traces_request(body, JSON_CT)


@pytest.mark.parametrize("decoder", [decode_traces_request, decode_logs_request,
                                     decode_metrics_request])
def test_truncated_protobuf_raises_invalid_input(decoder) -> None:  # noqa: ANN001
    good = decode_traces_request(_span_body(), JSON_CT).SerializeToString()
    with pytest.raises(InvalidInput):
        decoder(good[:-3], PROTO_CT)


def test_unknown_content_type() -> None:
    with pytest.raises(UnsupportedMediaType):
        decode_traces_request(b"{}", "text/plain")


def test_valid_unix_nanos_is_exactly_what_from_unix_nanos_accepts():
    from pulse.mapping.timestamps import END_UNIX_NANOS, from_unix_nanos, valid_unix_nanos

    for nanos in (1, 999, 10**18, END_UNIX_NANOS - 1, END_UNIX_NANOS, END_UNIX_NANOS + 1,
                  2**64 - 1, 0, -1):
        try:
            from_unix_nanos(nanos)
            accepted = nanos != 0
        except ValueError:
            accepted = False
        assert valid_unix_nanos(nanos) is accepted, nanos
    assert from_unix_nanos(END_UNIX_NANOS - 1).year == 9999
