"""Issue 12's mapping gaps, checked against real client captures (tests/data/otlp/captures):
OpenLIT's plain-text content and tool-call attributes, the anthropic SDK's own finish reason,
Vercel AI SDK 6's cache-inclusive input, Claude Code ``api_request``'s ``ttft_ms``."""

from __future__ import annotations

from pathlib import Path

from pulse.mapping import decode_logs_request, decode_traces_request, map_logs, map_traces
from tests.mapping.otlp_builders import one_span

CAPTURES = Path(__file__).parents[1] / "data" / "otlp" / "captures"
PROTO = "application/x-protobuf"


def traces_of(scenario: str, name: str) -> list:
    body = (CAPTURES / scenario / name).read_bytes()
    if "logs" in name:
        return map_logs(decode_logs_request(body, PROTO)).traces
    return map_traces(decode_traces_request(body, PROTO)).traces


def by_time(traces: list) -> list:
    return sorted(traces, key=lambda t: t.timestamp)


def test_openlit_plain_text_content_and_tool_calls():
    text, streamed, tool_call, follow_up = by_time(traces_of("openlit-1.36-openai",
                                                             "02-traces.pb"))
    assert text.request_body == {"messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Say hello"}]}
    assert text.output_text == "Hello! OpenTelemetry traces every call."
    assert text.response_body == {"messages": [
        {"role": "assistant", "content": "Hello! OpenTelemetry traces every call."}]}
    assert text.metadata["content_format"] == "openlit"
    assert streamed.output_text == "Hello! OpenTelemetry traces every call. "
    assert tool_call.output_text == ""
    assert tool_call.response_body == {"messages": [{
        "role": "assistant", "content": "",
        "tool_calls": [{"id": "call_pfKtHF4vUCsMehGAkWvj7FAc", "type": "function",
                        "function": {"name": "get_weather",
                                     "arguments": '{"location": "Paris"}'}}]}]}
    assert follow_up.request_body["messages"][-1] == {
        "role": "tool", "content": '{"temp_c": 22, "sky": "sunny"}'}
    assert follow_up.output_text == "It is sunny and 22 C in Paris."


def test_openlit_content_from_span_events_only():
    span = one_span({"gen_ai.operation.name": "chat", "gen_ai.system": "openai",
                     "gen_ai.request.model": "gpt-4o-mini"})
    s = span.resource_spans[0].scope_spans[0].spans[0]
    for name, key, value in (("gen_ai.content.prompt", "gen_ai.prompt", "user: Hi\nthere"),
                             ("gen_ai.content.completion", "gen_ai.completion", "Hello")):
        ev = s.events.add(name=name, time_unix_nano=s.start_time_unix_nano)
        ev.attributes.add(key=key).value.string_value = value
    (t,) = map_traces(span).traces
    assert t.request_body == {"messages": [{"role": "user", "content": "Hi\nthere"}]}
    assert t.output_text == "Hello"


def test_anthropic_sdk_spans_finish_reason_from_stop_reason():
    traces = by_time(traces_of("anthropic-sdk-own-spans", "01-traces.pb"))
    assert [t.finish_reason for t in traces] == ["stop", "stop", "tool_calls", "stop"]
    assert traces[2].metadata["finish_reason_raw"] == "tool_use"


def test_vercel_ai_sdk6_input_already_includes_cache_reads():
    traces = traces_of("vercel-ai-anthropic", "01-traces.pb")
    assert traces
    for t in traces:  # fake Anthropic usage: 42 uncached + 2048 cache reads
        assert t.input_tokens == 2090, t.metadata
        assert t.metadata["cache_read_input_tokens"] == 2048


def test_every_capture_counts_anthropic_cache_reads_once():
    """The fake Anthropic API answers 42 input tokens + 2048 cache reads: every convention's
    trace must say 2090 (no convention may add the cache twice or drop it)."""
    scenarios = {"anthropic-sdk-own-spans": "01-traces.pb",
                 "anthropic-sdk-plus-openllmetry": "01-traces.pb",
                 "anthropic-sdk-plus-openinference": "01-traces.pb",
                 "vercel-ai-anthropic": "01-traces.pb",
                 "claude-code": "01-traces.pb"}
    for scenario, name in scenarios.items():
        inputs = {t.input_tokens for t in traces_of(scenario, name)}
        assert inputs == {2090}, scenario
    assert {t.input_tokens for t in traces_of("claude-code", "02-logs.pb")} == {2090}


def test_claude_code_api_request_keeps_ttft_ms():
    from_logs = by_time(traces_of("claude-code", "02-logs.pb"))
    assert [t.metadata.get("ttft_ms") for t in from_logs] == [342, 50]
    from_spans = traces_of("claude-code", "01-traces.pb")
    assert all(isinstance(t.metadata.get("ttft_ms"), (int, float)) for t in from_spans)
