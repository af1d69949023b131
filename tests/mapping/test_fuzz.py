"""Hypothesis fuzzing: decoders raise only InvalidInput; map_* never raise."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulse.errors import InvalidInput
from pulse.mapping.otlp.decode import (
    decode_logs_request,
    decode_metrics_request,
    decode_traces_request,
)
from pulse.mapping.signals import map_logs, map_metrics, map_traces
from tests.mapping.golden import DATA

DECODERS = (decode_traces_request, decode_logs_request, decode_metrics_request)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=20,
)
id_like = st.one_of(st.text(alphabet="0123456789abcdefXYZ", max_size=34), st.integers(),
                    st.none())
any_value = st.recursive(
    st.one_of(
        st.builds(lambda s: {"stringValue": s}, st.text(max_size=30)),
        st.builds(lambda i: {"intValue": str(i)}, st.integers()),
        st.builds(lambda d: {"doubleValue": d}, st.floats(allow_nan=False)),
        st.builds(lambda b: {"boolValue": b}, st.booleans()),
    ),
    lambda inner: st.builds(lambda vs: {"arrayValue": {"values": vs}}, st.lists(inner, max_size=3))
    | st.builds(lambda kv: {"kvlistValue": {"values": [{"key": k, "value": v} for k, v in kv]}},
                st.lists(st.tuples(st.text(max_size=8), inner), max_size=3)),
    max_leaves=10,
)
KEYS = ["gen_ai.operation.name", "gen_ai.request.model", "gen_ai.usage.input_tokens",
        "gen_ai.input.messages", "gen_ai.output.messages", "llm.input_messages.0.message.role",
        "openinference.span.kind", "ai.operationId", "session.id", "event.name", "span.type",
        "tool_use_id", "gen_ai.response.finish_reasons", "llm.request.type", "model",
        "input_tokens", "duration_ms", "traceloop.span.kind", "ai.prompt.messages", "events"]
attributes = st.lists(st.builds(lambda k, v: {"key": k, "value": v},
                                st.sampled_from(KEYS) | st.text(max_size=10), any_value),
                      max_size=8)
spans = st.fixed_dictionaries({
    "traceId": id_like, "spanId": id_like, "parentSpanId": id_like,
    "name": st.sampled_from(["chat x", "ai.generateText", "claude_code.tool", "x", ""]),
    "startTimeUnixNano": st.integers(min_value=-5, max_value=2**64 - 1).map(str),
    "endTimeUnixNano": st.integers(min_value=0, max_value=2**64 - 1).map(str),
    "attributes": attributes,
    "status": st.fixed_dictionaries({"code": st.integers(0, 3)}),
})


def _decode_only_invalid_input(decoder, body: bytes, ctype: str) -> object:  # noqa: ANN001
    try:
        return decoder(body, ctype)
    except InvalidInput:
        return None


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(body: bytes) -> None:
    for decoder in DECODERS:
        for ctype in ("application/x-protobuf", "application/json"):
            _decode_only_invalid_input(decoder, body, ctype)


@FUZZ
@given(json_values)
def test_random_json_shapes(value: object) -> None:
    body = json.dumps(value).encode()
    for decoder in DECODERS:
        _decode_only_invalid_input(decoder, body, "application/json")
    wrapped = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [value]}]}]}).encode()
    req = _decode_only_invalid_input(decode_traces_request, wrapped, "application/json")
    if req is not None:
        map_traces(req)


@FUZZ
@given(st.lists(spans, max_size=6), st.booleans())
def test_map_traces_never_raises(span_list: list, keep: bool) -> None:
    body = json.dumps({"resourceSpans": [{"resource": {"attributes": []},
                                           "scopeSpans": [{"spans": span_list}]}]}).encode()
    req = _decode_only_invalid_input(decode_traces_request, body, "application/json")
    if req is not None:
        result = map_traces(req, keep_generic=keep)
        assert result.rejected + result.dropped + len(result.traces) + len(result.spans) >= 0


@FUZZ
@given(st.lists(st.fixed_dictionaries({
    "timeUnixNano": st.integers(min_value=0, max_value=2**64 - 1).map(str),
    "body": any_value, "attributes": attributes,
    "traceId": id_like, "spanId": id_like}), max_size=6), st.sampled_from([
    "com.anthropic.claude_code.events", "codex", ""]))
def test_map_logs_never_raises(records: list, scope: str) -> None:
    body = json.dumps({"resourceLogs": [{"scopeLogs": [{"scope": {"name": scope},
                                                        "logRecords": records}]}]}).encode()
    req = _decode_only_invalid_input(decode_logs_request, body, "application/json")
    if req is not None:
        map_logs(req)


@FUZZ
@given(st.binary(max_size=200), st.integers(0, 5000))
def test_mutated_fixture_protobuf(noise: bytes, cut: int) -> None:
    for name, decoder, mapper in (
        ("06-claude-code-logs-export.json", decode_logs_request, map_logs),
        ("01-otel-genai-current-agent-chat-tool.json", decode_traces_request, map_traces),
        ("09-claude-code-metrics-export.json", decode_metrics_request, map_metrics),
    ):
        raw = decoder((DATA / name).read_bytes(), "application/json").SerializeToString()
        body = raw[:cut] + noise + raw[cut:]
        req = _decode_only_invalid_input(decoder, body, "application/x-protobuf")
        if req is not None:
            mapper(req)
