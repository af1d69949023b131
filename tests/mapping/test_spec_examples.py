"""The headline facts of docs/mapping.md §Golden fixtures, written by hand (independent of the
regenerable golden files)."""

from __future__ import annotations

from decimal import Decimal

from pulse.mapping import map_logs, map_traces
from tests.mapping.golden import DATA, decode


def _map(name: str):
    signal, msg = decode(DATA / name, "json")
    return map_traces(msg) if signal == "traces" else map_logs(msg)


def test_01_current_genai_agent_chat_tool() -> None:
    r = _map("01-otel-genai-current-agent-chat-tool.json")
    first, second = r.traces
    assert first.provider == "anthropic" and first.model_requested == "claude-sonnet-4-5"
    assert first.model_used == "claude-sonnet-4-5-20250929"
    assert first.provider_request_id == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert first.request_body["system"][0]["content"] == "You are a concise travel assistant."
    assert first.request_body["tools"][0]["name"] == "get_weather"
    assert first.request_body["messages"][0]["role"] == "user"
    assert (first.input_tokens, first.output_tokens) == (1250, 38)
    assert first.metadata["cache_read_input_tokens"] == 1000
    assert first.metadata["cache_creation_input_tokens"] == 0
    assert first.output_text == "Let me check." and first.finish_reason == "tool_calls"
    assert first.status == "success" and first.latency_ms == 1400
    assert first.session_id == "conv_7f3a91" and first.metadata["cost_source"] == "computed"
    assert second.provider_request_id == "msg_01Y7bq2WZ3" and second.input_tokens == 1360
    assert second.output_text == "Paris: 14°C and rainy." and second.finish_reason == "stop"
    assert second.latency_ms == 1680
    agent, tool = r.spans
    assert agent.kind == "agent_run" and agent.agent_name == "travel-helper"
    assert agent.duration_ms == 3400 and agent.model == "claude-sonnet-4-5"
    assert agent.metadata["rolled_up_usage"] == {"input_tokens": 2610, "output_tokens": 61}
    assert tool.kind == "tool_use" and tool.tool_use_id == "toolu_01A"
    assert tool.tool_input == {"city": "Paris"}
    assert tool.tool_response == {"temp_c": 14, "sky": "rain"}
    assert tool.duration_ms == 260 and tool.parent_span_id == agent.span_id


def test_02_legacy_events_azure() -> None:
    r = _map("02-otel-genai-legacy-events-azure.json")
    (t,) = r.traces
    assert r.spans == []
    assert t.provider == "azure.ai.openai" and t.metadata["provider_raw"] == "az.ai.openai"
    assert (t.model_requested, t.model_used) == ("gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    assert t.provider_request_id == "chatcmpl-9xA1b2C3"
    assert [m["role"] for m in t.request_body["messages"]] == ["system", "user"]
    assert t.request_body["messages"][1]["content"] == "Good morning"
    assert t.output_text == "Bonjour" and (t.input_tokens, t.output_tokens) == (24, 3)
    assert t.finish_reason == "stop" and t.latency_ms == 650 and t.session_id == "sess-2210"
    assert t.metadata["system_fingerprint"] == "fp_44709d6fcb"


def test_03_openinference() -> None:
    r = _map("03-openinference-agent-llm-tool.json")
    (t,) = r.traces
    assert t.provider == "openai" and t.model_used == "gpt-4.1-2025-04-14"
    assert t.model_requested == "gpt-4.1" and t.provider_request_id == "chatcmpl-B1x2"
    assert (t.input_tokens, t.output_tokens) == (412, 19)
    assert t.metadata["cache_read_input_tokens"] == 256
    assert t.output_text == ""
    call = t.response_body["messages"][0]["tool_calls"][0]
    assert call["function"] == {"name": "lookup_order", "arguments": {"order_id": "1182"}}
    assert t.finish_reason == "tool_calls" and t.metadata["finish_reason_raw"] == "tool_calls"
    assert t.cost_cents == Decimal("0.0978") and t.metadata["cost_source"] == "provider"
    assert t.session_id == "thread-88" and t.metadata["user_id"] == "u_193"
    assert t.metadata["app_metadata"] == {"tenant": "acme", "plan": "pro"}
    assert t.metadata["tags"] == ["support", "prod"]
    agent, tool = r.spans
    assert (agent.kind, agent.agent_name, agent.duration_ms) == ("agent_run", "support-agent", 2100)
    assert (tool.kind, tool.tool_use_id, tool.tool_name) == ("tool_use", "call_62136355",
                                                             "lookup_order")
    assert tool.tool_input == {"order_id": "1182"} and tool.duration_ms == 390


def test_04_openllmetry_classic() -> None:
    r = _map("04-openllmetry-traceloop-classic.json")
    (t,) = r.traces
    assert (t.provider, t.model_requested, t.model_used) == ("openai", "gpt-4o",
                                                             "gpt-4o-2024-08-06")
    assert t.provider_request_id == "chatcmpl-AbC123"
    assert (t.input_tokens, t.output_tokens, t.metadata["total_tokens"]) == (41, 11, 52)
    assert t.output_text == "Customer cannot reset password; sent reset link."
    assert t.finish_reason == "stop" and t.latency_ms == 1650 and t.session_id == "chat-5521"
    assert t.metadata["workflow"] == "summarize_ticket"
    (root,) = r.spans
    assert root.kind == "session" and root.tool_input is None and root.tool_response is None
    assert root.metadata["entity_input"] == {"args": ["TCK-9"], "kwargs": {}}
    assert root.metadata["entity_output"] == "Customer cannot reset password; sent reset link."


def test_06_claude_code_logs() -> None:
    r = _map("06-claude-code-logs-export.json")
    ok, err = r.traces
    assert ok.provider == "anthropic" and ok.model_used == "claude-sonnet-4-5-20250929"
    assert ok.provider_request_id == "req_011CSHdQ3Fb7"
    assert ok.input_tokens == 43573 and ok.output_tokens == 187
    assert ok.metadata["cache_read_input_tokens"] == 41250
    assert ok.metadata["cache_creation_input_tokens"] == 2311
    assert ok.cost_cents == Decimal("2.38823") and ok.metadata["cost_source"] == "client"
    assert ok.latency_ms == 2380 and ok.status == "success"
    assert ok.metadata["query_source"] == "repl_main_thread" and ok.metadata["effort"] == "medium"
    assert ok.output_text is None and ok.response_body is None
    assert err.status == "error" and err.error["message"] == "529 Overloaded (attempt 3)"
    assert err.latency_ms == 3710 and (err.input_tokens, err.output_tokens) == (0, 0)
    assert err.cost_cents == 0 and err.provider_request_id is None
    assert err.metadata["client_request_id"].startswith("8a6b")
    kinds = sorted(s.kind for s in r.spans)
    assert kinds == ["llm_response", "tool_use", "user_prompt"]
    tool = next(s for s in r.spans if s.kind == "tool_use")
    assert tool.tool_use_id == "toolu_01KbX9" and tool.tool_name == "Bash"
    assert tool.tool_input["full_command"] == "bash -n scripts/deploy.sh"
    assert tool.status == "error" and tool.error == "ShellError" and tool.duration_ms == 655
    assert tool.timestamp.isoformat() == "2026-08-20T10:00:02.465000+00:00"
    assert tool.metadata["decision"] == "accept" and tool.cwd is None
    prompt = next(s for s in r.spans if s.kind == "user_prompt")
    assert prompt.metadata["prompt_length"] == 38 and prompt.metadata["prompt"]
    response = next(s for s in r.spans if s.kind == "llm_response")
    assert response.metadata["redacted"] is True and "response" not in response.metadata
    assert response.metadata["request_id"] == "req_011CSHdR9Zq2"


def test_claude_code_log_and_span_twins_share_ids() -> None:
    logs = _map("06-claude-code-logs-export.json")
    spans = _map("18-claude-code-beta-traces.json")
    assert logs.traces[0].trace_id == spans.traces[0].trace_id
    log_tool = next(s for s in logs.spans if s.kind == "tool_use")
    span_tool = next(s for s in spans.spans if s.kind == "tool_use")
    assert log_tool.span_id == span_tool.span_id


def test_tool_decision_alone_gets_the_merged_span_id() -> None:
    """A later export holding only the other half maps to the same row id."""
    full = _map("06-claude-code-logs-export.json")
    signal, msg = decode(DATA / "06-claude-code-logs-export.json", "json")
    records = msg.resource_logs[0].scope_logs[0].log_records
    keep = [rec for rec in records if rec.body.string_value == "claude_code.tool_decision"]
    del records[:]
    records.extend(keep)
    (alone,) = map_logs(msg).spans
    merged = next(s for s in full.spans if s.kind == "tool_use")
    assert alone.span_id == merged.span_id and alone.event_type == "tool_decision"


def test_aggregate_guard_vercel() -> None:
    r = _map("14-vercel-ai-aggregate-guard.json")
    assert len(r.traces) == 2
    assert sum(t.input_tokens for t in r.traces) == 380  # 100+80 (Anthropic cache) + 200
    outer = next(s for s in r.spans if s.kind == "agent_run")
    assert outer.metadata["rolled_up_usage"]["input_tokens"] == 300


def test_generic_chat_span_with_trace_child_is_demoted() -> None:
    from tests.mapping.otlp_builders import chat_parent_with_child

    r = map_traces(chat_parent_with_child())
    assert len(r.traces) == 1
    (parent,) = r.spans
    assert parent.kind == "agent_run" and parent.metadata["rolled_up_usage"]["input_tokens"] == 50


def test_keep_generic_keeps_non_genai_spans() -> None:
    signal, msg = decode(DATA / "13-orphans-and-invalid-spans.json", "json")
    assert map_traces(msg).dropped == 1
    kept = map_traces(msg, keep_generic=True)
    assert kept.dropped == 0
    assert any(s.kind == "notification" for s in kept.spans)
