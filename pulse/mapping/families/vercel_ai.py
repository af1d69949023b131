"""Vercel AI SDK (``ai`` scope, ``ai.*`` attributes).

Recognised by the ``ai`` scope, ``ai.operationId`` or an ``ai.`` span name. The provider call
(``*.doGenerate`` / ``*.doStream`` / ``*.doEmbed``) is the trace; the outer ``ai.generateText``
(and friends) is an agent run, ``ai.toolCall`` a tool. Content: ``ai.prompt.messages`` (or the
outer span's ``ai.prompt``), ``ai.prompt.tools``, ``ai.settings.*``,
``ai.response.text|toolCalls|object|finishReason``. Usage ``ai.usage.*``; Anthropic cache counts
in ``ai.response.providerMetadata`` come beside an input that excludes them. Metadata:
``ai.telemetry.metadata.*`` and ``ai.telemetry.functionId``.
"""

from __future__ import annotations

from typing import Any

from pulse.mapping.attrs import (
    Attrs,
    as_dict,
    as_json,
    as_list,
    get_int,
    get_json,
    get_str,
    with_prefix,
)
from pulse.mapping.content import Content, compact
from pulse.mapping.families.base import SPAN, TRACE, Decision, Family, Field, ModelCallTest, keys
from pulse.mapping.otlp.items import Item

_OUTER = {
    "ai.generateText",
    "ai.streamText",
    "ai.generateObject",
    "ai.streamObject",
    "ai.embed",
    "ai.embedMany",
}


def detect(item: Item) -> bool:
    return item.scope_name == "ai" or "ai.operationId" in item.attrs or item.name.startswith("ai.")


def classify(item: Item, family: str, _model_call: ModelCallTest) -> Decision | None:
    """Provider calls -> trace; ``ai.toolCall`` -> tool_use; outer calls -> agent_run."""
    if family != "vercel_ai":
        return None
    op = get_str(item.attrs, "ai.operationId") or item.name.split(" ")[0]
    if op.endswith((".doGenerate", ".doStream", ".doEmbed")):
        return Decision(TRACE, family, event_type=op)
    if op == "ai.toolCall":
        return Decision(SPAN, family, "tool_use", op)
    if op in _OUTER:
        return Decision(SPAN, family, "agent_run", op)
    return None


def provider_cache(a: Attrs) -> tuple[int | None, int | None]:
    """Anthropic cache counts from ``ai.response.providerMetadata`` (Anthropic-native usage)."""
    meta = as_dict(get_json(a, "ai.response.providerMetadata")) or {}
    anthropic = as_dict(meta.get("anthropic")) or {}
    usage = as_dict(anthropic.get("usage")) or anthropic
    return (
        get_int(usage, "cache_read_input_tokens", "cacheReadInputTokens"),
        get_int(usage, "cache_creation_input_tokens", "cacheCreationInputTokens"),
    )


def content(item: Item) -> Content | None:
    """``ai.prompt.messages`` (request) and ``ai.response.*`` (response)."""
    a = item.attrs
    messages = as_list(a.get("ai.prompt.messages"))
    prompt = as_dict(a.get("ai.prompt"))
    text = get_str(a, "ai.response.text")
    calls = as_list(a.get("ai.response.toolCalls"))
    obj = as_json(a.get("ai.response.object"))
    if messages is None and prompt is None and text is None and calls is None and obj is None:
        return None
    request = None
    if messages is not None or prompt is not None:
        tools = [as_json(t) for t in as_list(a.get("ai.prompt.tools")) or []]
        settings = {k: as_json(v) for k, v in with_prefix(a, "ai.settings.").items()}
        request = compact({"tools": tools, "toolChoice": as_json(a.get("ai.prompt.toolChoice")),
                           "settings": settings, "prompt": prompt if messages is None else None})
        request["messages"] = messages if messages is not None else _prompt_messages(prompt)
    response = compact({"text": text, "toolCalls": calls, "object": obj}) or None
    return Content(
        format="vercel_ai",
        request=request,
        response=response,
        output_text=text if text is not None else ("" if calls else None),
        finish=get_str(a, "ai.response.finishReason"),
    )


def _prompt_messages(prompt: dict[str, Any] | None) -> list[Any]:
    """Outer-span ``ai.prompt`` ``{system, prompt|messages}`` as a message list."""
    if not prompt:
        return []
    messages = list(prompt.get("messages") or [])
    if isinstance(prompt.get("prompt"), str):
        messages.append({"role": "user", "content": prompt["prompt"]})
    if isinstance(prompt.get("system"), str):
        messages.insert(0, {"role": "system", "content": prompt["system"]})
    return messages


def telemetry_metadata(a: Attrs) -> dict[str, Any]:
    """``ai.telemetry.metadata.*`` and ``ai.telemetry.functionId``, for trace metadata."""
    out: dict[str, Any] = {}
    meta = with_prefix(a, "ai.telemetry.metadata.")
    if meta:
        out["telemetry_metadata"] = meta
        if meta.get("userId") is not None:
            out["user_id"] = meta["userId"]
    function_id = get_str(a, "ai.telemetry.functionId")
    if function_id:
        out["function_id"] = function_id
    return out


def io_metadata(a: Attrs) -> dict[str, Any]:
    return {"prompt": as_json(a.get("ai.prompt")), "response_text": get_str(a, "ai.response.text")}


VERCEL_AI = Family(
    name="vercel_ai",
    detect=detect,
    io_metadata=io_metadata,
    classify=classify,
    prefixes=("ai.",),
    excluded_cache=provider_cache,
    trace_metadata=telemetry_metadata,
    fields={
        Field.SESSION: keys("ai.telemetry.metadata.sessionId"),
        Field.PROVIDER: keys("ai.model.provider"),
        Field.REQUEST_MODEL: keys("ai.model.id"),
        Field.RESPONSE_MODEL: keys("ai.response.model"),
        Field.MODEL: keys("ai.model.id"),
        Field.RESPONSE_ID: keys("ai.response.id"),
        Field.CONTENT: keys(content),
        Field.INPUT_TOKENS: keys("ai.usage.inputTokens", "ai.usage.promptTokens"),
        Field.OUTPUT_TOKENS: keys("ai.usage.outputTokens", "ai.usage.completionTokens"),
        # AI SDK 6: inputTokens includes the cache; the details say how much (never added again)
        Field.CACHE_READ_TOKENS: keys("ai.usage.inputTokenDetails.cacheReadTokens",
                                      last=("ai.usage.cachedInputTokens",)),
        Field.CACHE_WRITE_TOKENS: keys("ai.usage.inputTokenDetails.cacheWriteTokens"),
        Field.REASONING_TOKENS: keys("ai.usage.reasoningTokens"),
        Field.TOTAL_TOKENS: keys("ai.usage.totalTokens"),
        Field.TTFT_MS: keys("ai.response.msToFirstChunk"),
        Field.TOOL_ID: keys("ai.toolCall.id"),
        Field.TOOL_NAME: keys("ai.toolCall.name"),
        Field.TOOL_INPUT: keys("ai.toolCall.args"),
        Field.TOOL_OUTPUT: keys("ai.toolCall.result"),
        Field.AGENT_NAME: keys(last=("ai.telemetry.functionId",)),
    },
)
