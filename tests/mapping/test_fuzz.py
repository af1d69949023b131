"""Hypothesis fuzzing: decoders raise only InvalidInput; mapping never raises, never swallows an
exception (``errors`` stays empty: any exception inside the mapping is a bug, even though
production only rejects the item), and accounts for every span it was given."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulse.errors import InvalidInput
from pulse.mapping import (
    decode_logs_request,
    decode_metrics_request,
    decode_traces_request,
    map_logs,
    map_traces,
)
from pulse.mapping.families import registry
from pulse.mapping.signals import MappingResult, map_metrics_result
from tests.mapping.golden import DATA

DECODERS = (decode_traces_request, decode_logs_request, decode_metrics_request)
JSON = "application/json"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ_SMALL = settings(FUZZ, max_examples=500)  # one item per example: cheap, so explore more

# every attribute name a family reads, plus the ones the family mappers read directly
CHAIN_KEYS = sorted({
    key for name in dir(registry) if name.endswith("_KEYS")
    for key in getattr(registry, name) if isinstance(key, str)
})
KEYS = CHAIN_KEYS + [
    "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
    "llm.input_messages.0.message.role", "llm.output_messages.0.message.content",
    "gen_ai.prompt.0.content", "gen_ai.completion.0.content", "openinference.span.kind",
    "ai.operationId", "ai.prompt.messages", "ai.response.text", "ai.response.providerMetadata",
    "traceloop.span.kind", "traceloop.entity.name", "traceloop.entity.input", "events",
    "langfuse.observation.type", "langfuse.observation.cost_details", "llm.invocation_parameters",
    "span.type", "event.name", "request_id", "prompt.id", "input_tokens", "output_tokens",
    "cache_read_tokens", "cache_creation_tokens", "cost_usd", "cost_usd_micros", "duration_ms",
    "body", "conversation.id", "event.kind", "input_token_count", "cached_token_count",
    "http.response.status_code", "decision", "success", "error", "server.address",
]
# magnitudes that break arithmetic (Decimal precision, int64, float range) more than random ones
EDGE_NUMBERS = [0, -1, 1, 12.5, 2**31, 2**53, 2**63 - 1, 2**63, 2**64, 2**70, 1e15, 1e22, 1e30,
                1e308, -1e30, "1e400", "-1e400", "NaN", "inf", "-0", "12", "2.5", "abc", ""]
edge = st.sampled_from(EDGE_NUMBERS)
finite = st.floats(allow_nan=False, allow_infinity=False)  # OTLP/JSON has no Infinity
numbers = st.one_of(edge, edge, st.integers(), finite)  # edges: half of the values
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
        st.builds(lambda s: {"stringValue": s}, numbers.map(str)),
        st.builds(lambda s: {"stringValue": json.dumps(s)}, json_values),
        st.builds(lambda i: {"intValue": str(i)}, st.integers(-(2**63), 2**63 - 1)),
        st.builds(lambda d: {"doubleValue": d}, st.floats(allow_nan=False)),
        st.builds(lambda b: {"boolValue": b}, st.booleans()),
    ),
    lambda inner: st.builds(lambda vs: {"arrayValue": {"values": vs}}, st.lists(inner, max_size=3))
    | st.builds(lambda kv: {"kvlistValue": {"values": [{"key": k, "value": v} for k, v in kv]}},
                st.lists(st.tuples(st.text(max_size=8), inner), max_size=3)),
    max_leaves=10,
)
attributes = st.lists(st.builds(lambda k, v: {"key": k, "value": v},
                                st.sampled_from(KEYS) | st.text(max_size=10), any_value),
                      max_size=10)
# what makes a span look like each family's model call or tool, so that random attributes on
# top of it reach the builders (not only classification)
SHAPES = [
    {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
     "gen_ai.usage.input_tokens": "10"},
    {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "t"},
    {"openinference.span.kind": "LLM", "llm.model_name": "claude-sonnet-4-5"},
    {"openinference.span.kind": "TOOL"},
    {"llm.request.type": "chat", "gen_ai.system": "anthropic"},
    {"traceloop.span.kind": "tool", "traceloop.entity.name": "t"},
    {"ai.operationId": "ai.generateText.doGenerate", "ai.model.id": "gpt-4o"},
    {"span.type": "llm_request", "model": "claude-sonnet-4-5"},
    {"span.type": "tool", "tool_use_id": "toolu_1"},
    {"langfuse.observation.type": "generation"},
    {},
]
NUMERIC_KEYS = [k for k in KEYS if any(part in k.lower() for part in (
    "token", "cost", "count", "duration", "ttft", "first_chunk", "status_code"))]
number_value = st.one_of(
    numbers.map(lambda n: {"stringValue": str(n)}),
    numbers.filter(lambda n: isinstance(n, float)).map(lambda f: {"doubleValue": f}),
    numbers.filter(lambda n: isinstance(n, int) and -(2**63) <= n < 2**63).map(
        lambda i: {"intValue": str(i)}),
)
numeric_attributes = st.lists(st.builds(lambda k, v: {"key": k, "value": v},
                                        st.sampled_from(NUMERIC_KEYS), number_value), max_size=6)
shaped_attributes = st.tuples(st.sampled_from(SHAPES), numeric_attributes, attributes).map(
    lambda parts: [*({"key": k, "value": {"stringValue": v}} for k, v in parts[0].items()),
                   *parts[1], *parts[2]])
SPAN_NAMES = ["chat x", "ai.generateText", "ai.generateText.doGenerate", "claude_code.tool",
              "claude_code.llm_request", "claude_code.tool.execution", "execute_tool x",
              "running tool y", "agent run", "x", ""]
TRACE_ID, T0 = "0a" * 16, 1_787_220_000_000_000_000
# Mostly valid ids and times (decoding robustness is fuzzed above): spans share a trace and
# parent each other; all-zero/empty ids and unset or absurd times are decodable but invalid.
spans = st.fixed_dictionaries({
    "traceId": st.sampled_from([TRACE_ID, TRACE_ID, TRACE_ID, "0b" * 16, "00" * 16, ""]),
    "spanId": st.sampled_from(["01" * 8, "02" * 8, "03" * 8, "04" * 8, "00" * 8, ""]),
    "parentSpanId": st.sampled_from(["", "", "01" * 8, "02" * 8, "03" * 8, "ff" * 8]),
    "name": st.sampled_from(SPAN_NAMES),
    "startTimeUnixNano": st.one_of(st.just(T0), st.integers(0, 2**64 - 1)).map(str),
    "endTimeUnixNano": st.one_of(st.just(T0 + 10**9), st.integers(0, 2**64 - 1)).map(str),
    "attributes": shaped_attributes,
    "status": st.fixed_dictionaries({"code": st.integers(0, 2)}),
})
SERVICES = st.sampled_from(["claude-code", "codex_cli_rs", "app", ""])
LOG_EVENTS = st.sampled_from([
    "claude_code.api_request", "claude_code.api_error", "claude_code.api_response_body",
    "claude_code.api_request_body", "claude_code.tool_result", "claude_code.tool_decision",
    "claude_code.user_prompt", "claude_code.subagent_completed", "codex.sse_event",
    "codex.api_request", "codex.tool_result", "codex.conversation_starts",
    "gen_ai.client.inference.operation.details", "gen_ai.choice", "other",
])
log_records = st.fixed_dictionaries({
    "timeUnixNano": st.one_of(st.just(T0), st.integers(0, 2**64 - 1)).map(str),
    "body": st.one_of(any_value, LOG_EVENTS.map(lambda e: {"stringValue": e})),
    "attributes": st.tuples(LOG_EVENTS, numeric_attributes, attributes).map(
        lambda parts: [{"key": "event.name", "value": {"stringValue": parts[0]}}, *parts[1],
                       *parts[2]]),
    "traceId": st.sampled_from(["", TRACE_ID, "00" * 16]),
    "spanId": st.sampled_from(["", "01" * 8, "02" * 8]),
})


def _decode_only_invalid_input(decoder, body: bytes, ctype: str) -> object:  # noqa: ANN001
    try:
        return decoder(body, ctype)
    except InvalidInput:
        return None


def _no_swallowed_exception(result: MappingResult) -> None:
    assert result.errors == [], result.errors
    assert result.rejected >= 0 and result.dropped >= 0
    assert bool(result.messages) == bool(result.rejected or result.dropped)


def _could_fold(span_list: list) -> bool:
    """Claude Code ``tool.*`` children are folded into their tool span: no record of their own."""
    return any(s["name"].startswith("claude_code.tool.") or any(
        a["key"] == "span.type" for a in s["attributes"]) for s in span_list)


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
        _no_swallowed_exception(map_traces(req))


@FUZZ
@given(st.lists(spans, max_size=6), st.booleans(), SERVICES, st.sampled_from(["", "ai"]))
def test_map_traces_maps_or_accounts_for_every_span(span_list: list, keep: bool, service: str,
                                                    scope: str) -> None:
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}
    body = json.dumps({"resourceSpans": [{"resource": resource, "scopeSpans": [
        {"scope": {"name": scope}, "spans": span_list}]}]}).encode()
    req = _decode_only_invalid_input(decode_traces_request, body, "application/json")
    if req is None:
        return
    result = map_traces(req, keep_generic=keep)
    _no_swallowed_exception(result)
    accounted = len(result.traces) + len(result.spans) + result.rejected + result.dropped
    assert accounted <= len(span_list)
    if not _could_fold(span_list):
        assert accounted == len(span_list)  # every span is a record, a rejection or a drop


@FUZZ
@given(st.lists(log_records, max_size=8), st.sampled_from([
    "com.anthropic.claude_code.events", "codex", ""]), SERVICES)
def test_map_logs_never_swallows_an_exception(records: list, scope: str, service: str) -> None:
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}
    body = json.dumps({"resourceLogs": [{"resource": resource, "scopeLogs": [
        {"scope": {"name": scope}, "logRecords": records}]}]}).encode()
    req = _decode_only_invalid_input(decode_logs_request, body, "application/json")
    if req is not None:
        result = map_logs(req)
        _no_swallowed_exception(result)
        assert result.rejected <= len(records)


@FUZZ
@given(st.binary(max_size=200), st.integers(0, 5000))
def test_mutated_fixture_protobuf(noise: bytes, cut: int) -> None:
    for name, decoder, mapper in (
        ("06-claude-code-logs-export.json", decode_logs_request, map_logs),
        ("01-otel-genai-current-agent-chat-tool.json", decode_traces_request, map_traces),
        ("09-claude-code-metrics-export.json", decode_metrics_request, map_metrics_result),
    ):
        raw = decoder((DATA / name).read_bytes(), "application/json").SerializeToString()
        body = raw[:cut] + noise + raw[cut:]
        req = _decode_only_invalid_input(decoder, body, "application/x-protobuf")
        if req is not None:
            assert mapper(req).errors == []


LOG_SHAPES = [
    {"event.name": "api_request", "model": "claude-sonnet-4-5", "request_id": "r1"},
    {"event.name": "api_error", "model": "claude-sonnet-4-5", "error": "overloaded"},
    {"event.name": "tool_result", "tool_use_id": "t1", "tool_name": "Bash"},
    {"event.name": "subagent_completed", "agent_type": "explore"},
    {"event.name": "codex.sse_event", "event.kind": "response.completed", "model": "gpt-5"},
    {"event.name": "codex.api_request", "conversation.id": "c1"},
    {"event.name": "codex.tool_result", "call_id": "c1"},
]


def _kvs(shape: dict, extra: dict) -> list[dict]:
    return [*({"key": k, "value": {"stringValue": v}} for k, v in shape.items()),
            *({"key": k, "value": v} for k, v in extra.items())]


numeric_fields = st.dictionaries(st.sampled_from(NUMERIC_KEYS), number_value, min_size=1,
                                 max_size=4)


@FUZZ_SMALL
@given(st.sampled_from(SHAPES), numeric_fields)
def test_any_number_in_a_numeric_span_attribute(shape: dict, numeric: dict) -> None:
    span = {"traceId": TRACE_ID, "spanId": "01" * 8, "name": "chat", "startTimeUnixNano": str(T0),
            "endTimeUnixNano": str(T0 + 10**9), "attributes": _kvs(shape, numeric)}
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()
    result = map_traces(decode_traces_request(body, JSON))  # a valid body: must decode
    _no_swallowed_exception(result)
    assert len(result.traces) + len(result.spans) + result.dropped == 1


@FUZZ_SMALL
@given(st.sampled_from(LOG_SHAPES), numeric_fields)
def test_any_number_in_a_numeric_log_attribute(shape: dict, numeric: dict) -> None:
    body_text = f"claude_code.{shape['event.name']}"
    record = {"timeUnixNano": str(T0), "body": {"stringValue": body_text},
              "attributes": _kvs(shape, numeric)}
    scope = {"name": "codex" if shape["event.name"].startswith("codex.") else
             "com.anthropic.claude_code.events"}
    body = json.dumps({"resourceLogs": [{"scopeLogs": [
        {"scope": scope, "logRecords": [record]}]}]}).encode()
    _no_swallowed_exception(map_logs(decode_logs_request(body, JSON)))  # a valid body


def test_an_exception_rejects_one_item_is_reported_and_kept_in_errors(monkeypatch) -> None:
    """What production does with a mapping bug: the item is rejected (partial_success says why),
    the rest of the batch is kept, and the exception is visible in ``errors``."""
    from pulse.mapping import signals
    from tests.mapping.otlp_builders import chat_parent_with_child

    real = signals.build_trace

    def flaky(item, family, by_span):  # noqa: ANN001, ANN202
        if item.span_id == "02" * 8:
            raise RuntimeError("boom")
        return real(item, family, by_span)

    req = chat_parent_with_child()
    req.resource_spans[0].scope_spans[0].spans[0].ClearField("parent_span_id")
    req.resource_spans[0].scope_spans[0].spans[1].ClearField("parent_span_id")  # two leaf calls
    monkeypatch.setattr(signals, "build_trace", flaky)
    result = map_traces(req)
    assert len(result.traces) == 1 and result.rejected == 1
    assert result.messages == ["span could not be mapped (RuntimeError)"]
    assert result.errors == ["span: RuntimeError: boom"]
