"""Queue entry encoding: lossless round trips (records and metric points), JSON fields as text,
older entries still readable, unknown versions refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from pulse.mapping import spans_from_json, traces_from_json
from pulse.pipeline import codec
from pulse.records import MetricPoint, RawJson
from pulse.storage.writer import SPANS, TRACES
from tests.factories import span_item, trace_item

PROJECT = uuid.UUID(int=5)


def records():
    traces = traces_from_json([trace_item(cost_cents=1.25, error={"type": "x"}),
                               trace_item(metadata={"nested": {"a": [1, 2.5, None]}})])
    spans = spans_from_json([span_item(tool_input="just a string", tool_response=[1, 2]),
                             span_item(tool_input=None)])
    return traces, spans


def test_round_trip_keeps_every_field_and_json_travels_as_text():
    traces, spans = records()
    entry = codec.decode(codec.encode(PROJECT, traces + spans))
    assert entry.project_id == PROJECT
    back_traces, back_spans = entry.records[:2], entry.records[2:]
    for before, after in zip(traces + spans, back_traces + back_spans, strict=True):
        for name in before.__slots__:
            old, new = getattr(before, name), getattr(after, name)
            if isinstance(new, RawJson):
                assert orjson.loads(str(new)) == old, name
            else:
                assert new == old, name
    assert back_traces[0].cost_cents == Decimal("1.25")
    assert isinstance(back_spans[0].tool_input, RawJson)
    assert back_spans[0].tool_input == '"just a string"'
    assert back_spans[1].tool_input is None


def test_writer_rows_are_the_same_from_decoded_and_from_raw_records():
    traces, spans = records()
    entry = codec.decode(codec.encode(PROJECT, traces + spans))
    for table, before, after in ((TRACES, traces, entry.records[:2]),
                                 (SPANS, spans, entry.records[2:])):
        for b, a in zip(before, after, strict=True):
            assert table.to_row(PROJECT, b) == table.to_row(PROJECT, a)


def test_version_1_entries_from_before_an_upgrade_still_decode():
    traces, _ = records()
    old = orjson.dumps({"v": 1, "p": PROJECT, "at": 1.0, "t": traces, "s": []},
                       default=codec._default)
    entry = codec.decode(old)
    assert entry.records[0].request_body == traces[0].request_body  # plain dicts in v1


def test_metric_points_round_trip_beside_records():
    traces, spans = records()
    points = [MetricPoint(timestamp=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
                          name="claude_code.cost.usage", value=0.125,
                          attributes={"model": "claude-sonnet-4-5", "n": [1, {"a": None}]},
                          temporality="delta", unit="USD", service_name="claude-code"),
              MetricPoint(timestamp=datetime(2026, 1, 2, tzinfo=UTC), name="g", value=-3.0,
                          attributes={})]
    entry = codec.decode(codec.encode(PROJECT, traces + spans, points))
    assert entry.points == points
    assert len(entry.records) == 4
    only_points = codec.decode(codec.encode(PROJECT, [], points))
    assert only_points.records == [] and only_points.points == points


def test_version_2_entries_from_before_metric_points_still_decode():
    traces, spans = records()
    current = orjson.loads(codec.encode(PROJECT, traces + spans))
    assert current["v"] == 3
    old = {k: v for k, v in current.items() if k != "m"} | {"v": 2}
    entry = codec.decode(orjson.dumps(old))
    assert entry.points == []
    assert entry.records == codec.decode(codec.encode(PROJECT, traces + spans)).records


@pytest.mark.parametrize("payload", [b"", b"{}", b'{"v": 9}', b"[1,2]", b'{"v":2,"p":"x"}',
                                     b'{"v":4,"p":"00000000-0000-0000-0000-000000000005",'
                                     b'"at":1,"t":[],"s":[],"m":[]}',
                                     b'{"v":3,"p":"00000000-0000-0000-0000-000000000005",'
                                     b'"at":1,"t":[],"s":[],"m":[{"name":"x"}]}'])
def test_garbage_is_a_value_error(payload):
    with pytest.raises(ValueError):
        codec.decode(payload)
