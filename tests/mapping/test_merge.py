"""The pure merge of trace pieces (pulse/mapping/merge.py): precedence, and the algebra that makes
the stored row independent of arrival order, splits and redelivery."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import reduce

from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.mapping.merge import merge_trace_rows

TID = uuid.uuid4()
T0 = datetime(2026, 1, 25, 12, 0, tzinfo=UTC)


def row(**kw):
    base = {
        "project_id": TID, "trace_id": TID, "timestamp": T0, "session_id": None,
        "latency_ms": 100.0, "provider": "openai", "model_requested": "gpt-4o",
        "model_used": None, "provider_request_id": None, "request_body": {"messages": []},
        "response_body": None, "input_tokens": None, "output_tokens": None, "output_text": None,
        "finish_reason": None, "status": "success", "error": None, "cost_cents": None,
        "metadata": {}, "otel_trace_id": None, "otel_span_id": None,
        "otel_parent_span_id": None, "service_name": None, "assembly": None,
        "ingested_at": T0,
    }
    base.update(kw)
    return base


def test_content_beats_empty_both_ways():
    span = row(latency_ms=812.0)
    log = row(timestamp=T0 + timedelta(seconds=1), latency_ms=0.0,
              request_body={"messages": [{"role": "user", "content": "hi"}]},
              output_text="hello", finish_reason="stop",
              assembly={"timestamp": 0, "latency_ms": 0})
    for merged in (merge_trace_rows(span, log), merge_trace_rows(log, span)):
        assert merged["latency_ms"] == 812.0 and merged["timestamp"] == T0
        assert merged["output_text"] == "hello" and merged["finish_reason"] == "stop"
        assert merged["request_body"]["messages"][0]["content"] == "hi"


def test_client_cost_beats_computed_and_travels_with_its_source():
    computed = row(cost_cents=Decimal("1.5"), metadata={"cost_source": "computed", "a": 1})
    client = row(cost_cents=Decimal("2.25"), metadata={"cost_source": "client", "b": 2})
    for merged in (merge_trace_rows(computed, client), merge_trace_rows(client, computed)):
        assert merged["cost_cents"] == Decimal("2.25")
        assert merged["metadata"] == {"cost_source": "client", "a": 1, "b": 2}


def test_ranked_field_keeps_its_rank_for_later_pieces():
    low = row(latency_ms=5.0, assembly={"latency_ms": 0})
    high = row(latency_ms=3.0)
    merged = merge_trace_rows(low, high)
    assert merged["latency_ms"] == 3.0 and merged["assembly"] is None
    again = merge_trace_rows(merged, low)
    assert again["latency_ms"] == 3.0
    only_low = merge_trace_rows(low, row(latency_ms=1.0, assembly={"latency_ms": 0}))
    assert only_low["assembly"] == {"latency_ms": 0}


def test_error_status_moves_with_its_error():
    ok = row()
    failed = row(status="error", error={"message": "boom"})
    for merged in (merge_trace_rows(ok, failed), merge_trace_rows(failed, ok)):
        assert (merged["status"], merged["error"]) == ("error", {"message": "boom"})


_text = st.one_of(st.none(), st.sampled_from(["", "a", "b", "unknown"]))
_rank = st.one_of(st.none(), st.integers(-1, 3))
_pieces = st.builds(
    lambda ts, lat, prov, model, text, tok, cost, src, status, meta, ranks: row(
        timestamp=T0 + timedelta(seconds=ts), latency_ms=lat, provider=prov or "unknown",
        model_requested=model or "unknown", output_text=text, session_id=text,
        input_tokens=tok, cost_cents=cost, status=status,
        error={"m": text} if status == "error" else None,
        request_body={"messages": [{"content": text}]} if text else {"messages": []},
        metadata={**meta, **({"cost_source": src} if src and cost is not None else {})},
        assembly={k: v for k, v in ranks.items() if v is not None} or None),
    st.integers(0, 3), st.sampled_from([0.0, 1.0, 7.5]), _text, _text, _text,
    st.one_of(st.none(), st.integers(0, 5)),
    st.one_of(st.none(), st.sampled_from([Decimal("0"), Decimal("1.5"), Decimal("2")])),
    st.sampled_from([None, "client", "provider", "computed"]),
    st.sampled_from(["success", "error"]),
    st.dictionaries(st.sampled_from(["x", "y"]), st.sampled_from([1, 2, None]), max_size=2),
    st.fixed_dictionaries({"timestamp": _rank, "latency_ms": _rank, "output_text": _rank,
                           "cost": _rank, "metadata": _rank, "status": _rank}),
)


def _content(r):
    return {k: v for k, v in r.items() if k != "ingested_at"}


@settings(max_examples=400, deadline=None)
@given(st.lists(_pieces, min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_merge_is_order_split_and_redelivery_independent(pieces, rnd):
    # a lone piece is stored as sent; merged with itself its ``assembly`` is normalised
    one = reduce(merge_trace_rows, pieces[1:], merge_trace_rows(pieces[0], pieces[0]))
    shuffled = pieces + [rnd.choice(pieces)]  # with a redelivered piece
    rnd.shuffle(shuffled)
    assert _content(reduce(merge_trace_rows, shuffled)) == _content(one)
    # any split into two exports, each assembled first, then merged
    cut = rnd.randrange(len(shuffled) + 1)
    left, right = shuffled[:cut], shuffled[cut:]
    if len(left) > 1 and len(right) > 1:
        parts = merge_trace_rows(reduce(merge_trace_rows, right), reduce(merge_trace_rows, left))
        assert _content(parts) == _content(one)
    assert _content(merge_trace_rows(one, one)) == _content(one)
