"""The chains the registry assembles are exactly the documented precedence orders.

Each expected tuple below is the order the mapping has always used (before the registry existed,
these were hand-written tuples); a change of registry order or of a family's keys that changes a
chain fails here first, so it is always a visible decision, never a side effect.
"""

from __future__ import annotations

import pytest

from pulse.mapping.families import registry as r
from pulse.mapping.families.base import Field
from pulse.mapping.families.openinference import invocation_model

CHAINS = {
    "SESSION_KEYS": (
        "langfuse.session.id", "session.id", "gen_ai.conversation.id",
        "traceloop.association.properties.session_id", "ai.telemetry.metadata.sessionId",
        "langsmith.trace.session_id", "conversation.id",
    ),
    "PROVIDER_KEYS": (
        "gen_ai.provider.name", "gen_ai.system", "llm.provider", "ai.model.provider",
        "langsmith.metadata.ls_provider", "llm.system",
    ),
    "REQUEST_MODEL_KEYS": ("gen_ai.request.model", "llm.request.model_name", "ai.model.id"),
    "REQUEST_MODEL_FALLBACK_KEYS": (
        invocation_model, "llm.model_name", "model", "langsmith.metadata.ls_model_name",
    ),
    "RESPONSE_MODEL_KEYS": (
        "langfuse.observation.model.name", "gen_ai.response.model", "llm.response.model_name",
        "ai.response.model", "llm.model_name", "llm.response.model",
    ),
    "RESPONSE_MODEL_LAST_KEYS": ("model",),
    "MODEL_KEYS": (
        "gen_ai.response.model", "gen_ai.request.model", "llm.model_name", "ai.model.id", "model",
    ),
    "RESPONSE_ID_KEYS": ("gen_ai.response.id", "ai.response.id"),
    "FINISH_REASON_KEYS": ("gen_ai.response.finish_reasons", "anthropic.message.stop_reason"),
    "FINISH_REASON_LAST_KEYS": ("stop_reason", "llm.response.finish_reason"),
    "TTFT_MS_KEYS": ("ttft_ms", "ai.response.msToFirstChunk"),
    "TTFT_SECONDS_KEYS": ("gen_ai.response.time_to_first_chunk",),
    "OPERATION_KEYS": ("gen_ai.operation.name", "llm.request.type"),
    "SYSTEM_FINGERPRINT_KEYS": (
        "gen_ai.openai.response.system_fingerprint", "openai.response.system_fingerprint",
    ),
    "TRACE_AGENT_NAME_KEYS": ("gen_ai.agent.name",),
    "GENAI_OPERATION_KEYS": ("gen_ai.operation.name",),
    "INPUT_KEYS": (
        "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt",
        "ai.usage.inputTokens", "ai.usage.promptTokens",
    ),
    "OUTPUT_KEYS": (
        "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
        "llm.token_count.completion", "ai.usage.outputTokens", "ai.usage.completionTokens",
    ),
    "CACHE_READ_KEYS": (
        "gen_ai.usage.cache_read.input_tokens", "llm.token_count.prompt_details.cache_read",
        "ai.usage.inputTokenDetails.cacheReadTokens",
    ),
    "CACHE_READ_LAST_KEYS": ("ai.usage.cachedInputTokens",),
    "CACHE_WRITE_KEYS": (
        "gen_ai.usage.cache_creation.input_tokens", "llm.token_count.prompt_details.cache_write",
        "ai.usage.inputTokenDetails.cacheWriteTokens", "gen_ai.usage.cache_write.input_tokens",
    ),
    "CACHE_READ_EXCLUDED_KEYS": ("gen_ai.usage.cache_read_input_tokens",),
    "CACHE_WRITE_EXCLUDED_KEYS": ("gen_ai.usage.cache_creation_input_tokens",),
    "REASONING_KEYS": (
        "gen_ai.usage.reasoning.output_tokens", "llm.usage.reasoning_tokens",
        "llm.token_count.completion_details.reasoning", "ai.usage.reasoningTokens",
    ),
    "TOTAL_KEYS": (
        "gen_ai.usage.total_tokens", "llm.usage.total_tokens", "llm.token_count.total",
        "ai.usage.totalTokens",
    ),
    "TOOL_ID_KEYS": ("gen_ai.tool.call.id", "tool_use_id", "tool.id", "ai.toolCall.id", "call_id"),
    "TOOL_NAME_KEYS": ("gen_ai.tool.name", "tool_name", "tool.name", "ai.toolCall.name"),
    "TOOL_INPUT_KEYS": (
        "gen_ai.tool.call.arguments", "tool_input", "tool_parameters", "input.value",
        "ai.toolCall.args", "tool_arguments",
    ),
    "TOOL_OUTPUT_KEYS": (
        "gen_ai.tool.call.result", "output.value", "ai.toolCall.result", "tool_response",
    ),
    "AGENT_NAME_KEYS": ("gen_ai.agent.name", "agent.name", "agent_name"),
    "AGENT_NAME_FALLBACK_KEYS": (
        "agent_type", "subagent_type", "gen_ai.workflow.name", "ai.telemetry.functionId",
    ),
    "TOOL_SPAN_PREFIXES": ("execute_tool ", "running tool "),
}


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_chain_is_the_documented_order(name):
    assert getattr(r, name) == CHAINS[name]


def test_content_readers_in_documented_order():
    names = [f"{reader.__module__.rsplit('.', 1)[-1]}.{reader.__name__}"
             for reader in r.CONTENT_ORDER]
    assert names == [
        "otel_genai.current_content", "otel_genai.legacy_content", "openinference.content",
        "openllmetry.content", "vercel_ai.content", "pydantic_ai.content",
        "openllmetry.entity_content",
    ]


def test_hooks_in_registry_order():
    def families_of(hooks):
        return [hook.__module__.rsplit(".", 1)[-1] for hook in hooks]

    assert families_of(r.TRACE_METADATA) == ["openllmetry", "vercel_ai"]
    assert families_of(r.IO_METADATA) == [
        "openinference", "openllmetry", "vercel_ai", "pydantic_ai"]
    assert families_of(r.EXCLUDED_CACHE) == ["vercel_ai"]
    assert families_of(r.CONDITIONAL) == ["openllmetry"]
    assert r.COST_USD_KEYS[1:] == ("gen_ai.usage.cost", "llm.cost.total")
    assert r.COST_USD_KEYS[0].__name__ == "langfuse_cost_usd"
    assert set(r.GENAI_PREFIXES) == {"gen_ai.", "llm.", "ai.", "openinference.", "traceloop."}


def test_orders():
    names = [f.name for f in r.REGISTRY]
    assert names == [
        "langfuse", "otel_general", "otel_genai", "otel_genai_deprecated", "claude_code",
        "openinference", "openllmetry", "vercel_ai", "pydantic_ai", "codex", "generic",
        "langsmith",
    ]
    assert [f.name for f in r.USAGE_ORDER] == [
        n for n in names if n != "openllmetry"][:5] + ["openllmetry"] + [
        n for n in names if n != "openllmetry"][5:]
    assert [f.name for f in r.DETECTION_ORDER] == [
        "claude_code", "codex", "vercel_ai", "pydantic_ai", "openinference", "openllmetry"]
    assert [f.name for f in r.CLASSIFICATION_ORDER] == [
        "langfuse", "claude_code", "otel_genai", "openinference", "openllmetry", "vercel_ai",
        "pydantic_ai"]


def test_every_family_name_is_unique_and_sources_are_known_span_sources():
    from pulse.records import SPAN_SOURCES

    names = [f.name for f in r.REGISTRY]
    assert len(names) == len(set(names))
    for family in (*r.DETECTION_ORDER, r.DEFAULT_FAMILY):
        assert family.name in SPAN_SOURCES
    assert all(isinstance(field, Field) for f in r.REGISTRY for field in f.fields)


def test_chain_walks_tiers_then_families():
    assert r.chain(Field.SESSION, "fallback") == ("conversation.id",)
    assert r.chain(Field.AGENT_NAME, "last") == ("gen_ai.workflow.name", "ai.telemetry.functionId")


def test_readers_only_where_the_resolver_calls_them():
    from pulse.mapping.families.base import Family, keys

    odd = Family(name="odd", fields={Field.SESSION: keys(lambda a: "s")})
    with pytest.raises(TypeError, match="session_id"):
        r.chain(Field.SESSION, order=(odd,))
    assert r.chain(Field.COST_USD, order=(odd,)) == ()
