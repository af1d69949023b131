"""Unit tests of pulse.mapping.native (no database, no server)."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from pulse.errors import InvalidInput
from pulse.mapping.native import (
    MAX_ITEMS,
    MAX_JSON_DEPTH,
    native_usage,
    parse_json_array,
    spans_from_json,
    traces_from_json,
)
from pulse.mapping.usage import Usage
from pulse.records import SpanRecord, TraceRecord
from tests.factories import span_item, trace_item


def problems(exc: pytest.ExceptionInfo) -> list[tuple]:
    assert exc.value.message == "Validation failed"
    return [(d["index"], d["field"]) for d in exc.value.details]


# ---- parse_json_array ----------------------------------------------------------------------------

def test_parse_json_array_ok():
    assert parse_json_array(b'[{"a": 1}, 2]') == [{"a": 1}, 2]
    assert len(parse_json_array(json.dumps([{}] * MAX_ITEMS).encode())) == MAX_ITEMS


@pytest.mark.parametrize("body", [b"{}", b'{"a": [1]}', b'"x"', b"1", b"null", b"true"])
def test_parse_json_array_not_an_array(body):
    with pytest.raises(InvalidInput) as exc:
        parse_json_array(body)
    assert exc.value.message == "Validation failed"
    assert exc.value.details[0]["field"] == "body"


@pytest.mark.parametrize("count", [0, MAX_ITEMS + 1, 1000])
def test_parse_json_array_item_count(count):
    with pytest.raises(InvalidInput) as exc:
        parse_json_array(json.dumps([1] * count).encode())
    assert exc.value.message == "Validation failed"
    assert str(count) in exc.value.details[0]["message"]


@pytest.mark.parametrize("body", [
    b"", b"[", b"[1,]", b"[NaN]", b"[Infinity]", b"[-Infinity]", b"\xff", b"[1] x",
    b"[" * 5000 + b"]" * 5000, b"['single']",
])
def test_parse_json_array_invalid_json(body):
    with pytest.raises(InvalidInput) as exc:
        parse_json_array(body)
    assert exc.value.message == "Invalid JSON body"
    assert exc.value.details is None


def test_parse_json_array_big_numbers_survive_decoding():
    items = parse_json_array(b"[%d, 1e400]" % 2**70)
    assert items[0] == 2**70
    assert math.isinf(items[1])


def test_parse_json_array_utf8_bom_free_unicode():
    assert parse_json_array('["é\\u0000"]'.encode()) == ["é\x00"]


# ---- traces_from_json ----------------------------------------------------------------------------

def test_trace_record_fields():
    item = trace_item(timestamp="2026-01-25T17:30:00.1234567+05:30", provider="OpenAI.Chat")
    (rec,) = traces_from_json([item])
    assert isinstance(rec, TraceRecord)
    assert rec.trace_id == uuid.UUID(item["trace_id"])
    assert rec.timestamp == datetime(2026, 1, 25, 12, 0, 0, 123456, tzinfo=UTC)
    assert rec.timestamp.utcoffset() == timedelta(hours=5, minutes=30)
    assert rec.provider == "openai"
    assert rec.model_requested == "gpt-4o"
    assert rec.input_tokens == 1000 and isinstance(rec.input_tokens, int)
    assert rec.latency_ms == 813  # whole milliseconds, half up
    assert rec.session_id == "conv-abc-123"
    assert rec.request_body == item["request_body"]


def test_trace_nulls_are_absent_and_unknown_keys_ignored():
    item = trace_item(model_used=None, response_body=None, input_tokens=None,
                      output_tokens=None, session_id=None, metadata=None, extra={"x": 1})
    (rec,) = traces_from_json([item])
    assert rec.model_used is None and rec.response_body is None and rec.session_id is None
    assert rec.cost_cents is None
    assert rec.metadata == {"cost_missing": "no_tokens"}  # why costCents is null
    assert not hasattr(rec, "extra")


def test_trace_errors_listed_per_item_and_field():
    items = [trace_item(), trace_item(trace_id="x", latency_ms=-1), "not an object",
             trace_item(status=None)]
    with pytest.raises(InvalidInput) as exc:
        traces_from_json(items)
    assert problems(exc) == [(1, "trace_id"), (1, "latency_ms"), (2, None), (3, "status")]
    messages = {(d["index"], d["field"]): d["message"] for d in exc.value.details}
    assert messages[(3, "status")] == "Required"


@pytest.mark.parametrize("value, ok", [
    (0, True), (5, True), (5.0, True), (2**63 - 1, True), (2**63, False), (-1, False),
    (1.5, False), (True, False), ("5", False), (float("inf"), False), (float("nan"), False),
])
def test_token_rule(value, ok):
    item = trace_item(input_tokens=value)
    if ok:
        assert traces_from_json([item])[0].input_tokens == int(value)
    else:
        with pytest.raises(InvalidInput) as exc:
            traces_from_json([item])
        assert problems(exc) == [(0, "input_tokens")]


@pytest.mark.parametrize("value, ok", [
    (0, True), (0.0, True), (1e-9, True), (10**12, True), (10**12 + 1, False), (-1e-9, False),
    (float("inf"), False), (float("nan"), False), (False, False), ("1", False),
])
def test_latency_rule(value, ok):
    item = trace_item(latency_ms=value)
    if ok:
        assert traces_from_json([item])[0].latency_ms == round(value)  # whole ms
    else:
        with pytest.raises(InvalidInput) as exc:
            traces_from_json([item])
        assert problems(exc) == [(0, "latency_ms")]


@pytest.mark.parametrize("stamp", [
    "2026-01-25T12:00:00", "2026-01-25", "2026-01-25T12:00Z", "2026-01-25T12:00:00+0530",
    "2026-01-25T12:00:00+05", "2026-02-30T00:00:00Z", "2026-01-25T12:00:00+24:00",
    " ", "2026-01-25T12:00:00.Z", "１２",
])
def test_bad_timestamps(stamp):
    with pytest.raises(InvalidInput) as exc:
        traces_from_json([trace_item(timestamp=stamp)])
    assert problems(exc) == [(0, "timestamp")]


def test_leap_second_and_lowercase_accepted():
    (rec,) = traces_from_json([trace_item(timestamp="2026-06-30t23:59:60z")])
    assert rec.timestamp == datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC)
    (rec,) = traces_from_json([trace_item(timestamp="2026-01-01T00:00:00-00:30")])
    assert rec.timestamp.utcoffset() == -timedelta(minutes=30)
    assert rec.timestamp.tzinfo == timezone(-timedelta(minutes=30))


def test_strings_are_cleaned():
    item = trace_item(output_text="a\x00b", request_body={"k\x00": "\ud800"},
                      session_id="s\x00", metadata={"\udfff": ["\x00"]})
    (rec,) = traces_from_json([item])
    assert rec.output_text == "a\ufffdb"
    assert rec.request_body == {"k\ufffd": "\ufffd"}
    assert rec.session_id == "s\ufffd"
    assert rec.metadata["\ufffd"] == ["\ufffd"]


def test_json_depth_limit():
    def nested(depth):
        value: object = 1
        for _ in range(depth - 1):
            value = {"a": value}
        return value

    (rec,) = traces_from_json([trace_item(request_body=nested(MAX_JSON_DEPTH))])
    assert rec.request_body["a"]["a"]
    with pytest.raises(InvalidInput) as exc:
        traces_from_json([trace_item(request_body={"a": [nested(MAX_JSON_DEPTH)]})])
    assert problems(exc) == [(0, "request_body")]
    deep_list: object = []
    for _ in range(5000):
        deep_list = [deep_list]
    with pytest.raises(InvalidInput) as exc:
        spans_from_json([span_item(tool_input=deep_list)])
    assert problems(exc) == [(0, "tool_input")]


# ---- cost ----------------------------------------------------------------------------------------

def test_cost_computed_and_marked():
    (rec,) = traces_from_json([trace_item(model_used=None)])
    assert rec.cost_cents == Decimal("0.75")
    assert rec.metadata["cost_source"] == "computed"


def test_client_cost_kept_exactly():
    (rec,) = traces_from_json([trace_item(cost_cents=0.1)])
    assert rec.cost_cents == Decimal("0.1")
    assert rec.metadata["cost_source"] == "client"
    (rec,) = traces_from_json([trace_item(cost_cents=2, metadata={"cost_source": "provider"})])
    assert rec.cost_cents == Decimal("2")
    assert rec.metadata["cost_source"] == "provider"


def test_client_cannot_claim_computed_cost_source():
    (rec,) = traces_from_json([trace_item(cost_cents=1, metadata={"cost_source": "computed"})])
    assert rec.metadata["cost_source"] == "client"


def test_absurd_computed_cost_is_dropped():
    (rec,) = traces_from_json([trace_item(input_tokens=2**63 - 1, output_tokens=0)])
    assert rec.cost_cents is None
    assert "cost_source" not in rec.metadata


def test_unknown_model_no_cost():
    (rec,) = traces_from_json([trace_item(model_requested="nope-model", model_used=None)])
    assert rec.cost_cents is None
    assert "cost_source" not in rec.metadata


# ---- spans_from_json -----------------------------------------------------------------------------

def test_span_record_fields():
    parent = str(uuid.uuid4())
    item = span_item(parent_span_id=parent, is_interrupt=False, tool_input="text", error=[1])
    (rec,) = spans_from_json([item])
    assert isinstance(rec, SpanRecord)
    assert rec.span_id == uuid.UUID(item["span_id"])
    assert rec.parent_span_id == uuid.UUID(parent)
    assert rec.is_interrupt is False
    assert rec.tool_input == "text"
    assert rec.error == [1]
    assert rec.duration_ms == 42.0


def test_span_errors():
    items = [span_item(source="cursor"), span_item(), span_item(kind="x", is_interrupt="yes")]
    with pytest.raises(InvalidInput) as exc:
        spans_from_json(items)
    assert problems(exc) == [(0, "source"), (2, "kind"), (2, "is_interrupt")]


def test_span_missing_required():
    with pytest.raises(InvalidInput) as exc:
        spans_from_json([{}])
    assert problems(exc) == [(0, f) for f in (
        "span_id", "session_id", "timestamp", "source", "kind", "event_type")]


def test_trace_missing_required():
    with pytest.raises(InvalidInput) as exc:
        traces_from_json([{"unknown": 1}])
    assert problems(exc) == [(0, f) for f in (
        "trace_id", "timestamp", "provider", "model_requested", "request_body", "status",
        "latency_ms")]


# ---- native_usage --------------------------------------------------------------------------------

def usage_of(**v) -> tuple[int, int, int, int] | None:
    """(input, output, cache read, cache write) as priced, or None when there is no usage."""
    metadata = v.pop("metadata", {})
    usage: Usage | None = native_usage(v, metadata)
    if usage is None:
        return None
    return (usage.input or 0, usage.output or 0, usage.cache_read or 0, usage.cache_creation or 0)


def test_usage_none_without_tokens():
    assert usage_of() is None
    assert usage_of(response_body={"usage": {"input_tokens": 5}}) is None


def test_usage_plain():
    assert usage_of(input_tokens=10, output_tokens=None) == (10, 0, 0, 0)
    assert usage_of(input_tokens=None, output_tokens=7) == (0, 7, 0, 0)


def test_usage_anthropic_native_adds_cache_buckets():
    body = {"usage": {"input_tokens": 100, "output_tokens": 50, "cache_read_input_tokens": 2000,
                      "cache_creation_input_tokens": 300}}
    got = usage_of(input_tokens=100, output_tokens=50, response_body=body)
    assert got == (2400, 50, 2000, 300)


def test_usage_anthropic_total_already_includes_cache():
    body = {"usage": {"input_tokens": 100, "cache_read_input_tokens": 2000}}
    got = usage_of(input_tokens=2100, output_tokens=5, response_body=body)
    assert got == (2100, 5, 2000, 0)


def test_usage_openai_cached_tokens_are_part_of_input():
    body = {"usage": {"prompt_tokens": 1000, "prompt_tokens_details": {"cached_tokens": 800}}}
    assert usage_of(input_tokens=1000, output_tokens=1, response_body=body) == (1000, 1, 800, 0)
    body = {"usage": {"input_tokens": 1000, "input_tokens_details": {"cached_tokens": 600}}}
    assert usage_of(input_tokens=1000, output_tokens=1, response_body=body) == (1000, 1, 600, 0)


def test_usage_metadata_wins_over_response_body():
    body = {"usage": {"cache_read_input_tokens": 5}}
    got = usage_of(input_tokens=100, output_tokens=1, response_body=body,
                   metadata={"cache_read_input_tokens": 40, "cache_creation_input_tokens": 10})
    assert got[2:] == (40, 10)


@pytest.mark.parametrize("odd", [True, -5, "12", 1.5, None, [3]])
def test_usage_ignores_odd_cache_values(odd):
    body = {"usage": {"cache_read_input_tokens": odd, "cache_creation_input_tokens": odd}}
    got = usage_of(input_tokens=100, output_tokens=1, response_body=body,
                   metadata={"cache_read_input_tokens": odd})
    assert got[2:] == (0, 0)


@pytest.mark.parametrize("usage", ["text", [1], 5, None])
def test_usage_block_not_an_object(usage):
    got = usage_of(input_tokens=3, output_tokens=4, response_body={"usage": usage})
    assert got == (3, 4, 0, 0)


def test_usage_details_not_an_object_does_not_crash():
    body = {"usage": {"prompt_tokens_details": "x", "input_tokens_details": [1]}}
    got = usage_of(input_tokens=3, output_tokens=4, response_body=body)
    assert got == (3, 4, 0, 0)
