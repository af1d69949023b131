"""Write-side bounds shared by every transport (pulse/mapping/bounds.py), through a real server:
identifier-like fields cut and flagged, negative token counts nulled, timestamps outside
1971..2200 rejected (OTLP partial success, native 400), each outcome counted in ``/metrics``."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

from pulse.mapping import bounds
from pulse.storage import guard
from tests.e2e.test_poison import chat_span, otlp_span, traces_body
from tests.factories import trace_item
from tests.helpers import eventually
from tests.pipeline.test_writer_loop_faults import good_trace


def test_the_mapping_bound_equals_the_storage_guard_budget():
    assert bounds.INDEX_MAX_BYTES == guard.INDEX_TEXT_MAX_BYTES


async def metric(http, name: str, label: str) -> float:
    text = (await http.get("/metrics")).text
    m = re.search(rf'^{name}{{field="{label}"}} (\S+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


async def stored_traces(http, project) -> list[dict]:
    r = await http.get("/v1/traces", params={"limit": 100}, headers=project.headers)
    assert r.status_code == 200, r.text
    return r.json()["traces"]


async def test_otlp_identifiers_are_cut_with_a_flag_and_counted(http, project):
    before_cut = await metric(http, "pulse_ingest_truncated_total", "model_requested")
    span = chat_span(**{"gen_ai.request.model": "m" + "é" * 600})
    r = await http.post("/v1/traces", json=traces_body(span), headers=project.headers)
    assert r.status_code == 200 and not r.json().get("partialSuccess"), r.text
    rows = await eventually(lambda: stored_traces(http, project), lambda t: len(t) == 1)
    (row,) = rows
    assert len(row["modelRequested"].encode()) <= 512
    assert row["modelRequested"].startswith("m" + "é" * 100)
    assert row["metadata"]["pulse.truncated"] == ["model_requested"]
    assert await metric(http, "pulse_ingest_truncated_total", "model_requested") == before_cut + 1


def test_negative_counts_and_non_finite_numbers_are_nulled_with_the_reason():
    # OTLP mapping already turns negative token counts into 0 (docs/mapping.md) and the native
    # API refuses them; the bounds are the backstop for any other path
    trace = replace(good_trace(1), input_tokens=-3, cost_cents=Decimal("NaN"),
                    latency_ms=float("inf"))
    notes = bounds.Notes()
    (out,) = bounds.bound_records([trace], notes)
    assert (out.input_tokens, out.cost_cents, out.latency_ms) == (None, None, 0.0)
    assert out.metadata["pulse.nulled"] == [
        "input_tokens: negative", "cost_cents: not finite", "latency_ms: not finite or negative"]
    assert notes.counts == {"nulled/input_tokens": 1, "nulled/cost_cents": 1,
                            "nulled/latency_ms": 1}


async def test_otlp_timestamps_outside_the_window_are_rejected_with_a_message(http, project):
    late = otlp_span({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"})
    late["startTimeUnixNano"] = late["endTimeUnixNano"] = str(2**64 - 1)  # uint64 max: 2554
    early = otlp_span({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"})
    early["startTimeUnixNano"] = early["endTimeUnixNano"] = str(10**9)  # 1970-01-01T00:00:01Z
    good = chat_span()
    r = await http.post("/v1/traces", json=traces_body(late, early, good),
                        headers=project.headers)
    assert r.status_code == 200, r.text
    partial = r.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 2
    assert bounds.TIMESTAMP_MESSAGE in partial["errorMessage"]
    rows = await eventually(lambda: stored_traces(http, project), lambda t: len(t) == 1)
    assert [row["timestamp"][:10] for row in rows] == ["2026-08-20"]  # only the good one


async def test_native_timestamps_outside_the_window_are_a_400(http, project):
    item = trace_item(timestamp="2300-01-01T00:00:00Z")
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    assert r.status_code == 400, r.text
    assert any(d["field"] == "timestamp" and "1971" in d["message"]
               for d in r.json()["details"]), r.text


async def test_native_identifiers_within_512_characters_but_not_512_bytes_are_cut(http, project):
    # 512 four-byte characters pass the native 512-character limit but no index can hold four
    # such columns: the shared bounds cut them to 512 bytes and flag it
    item = trace_item(model_requested="😀" * 512)
    r = await http.post("/v1/traces/batch", json=[item], headers=project.headers)
    assert r.status_code < 300, r.text
    (row,) = await stored_traces(http, project)
    assert row["modelRequested"] == "😀" * 128
    assert row["metadata"]["pulse.truncated"] == ["model_requested"]
