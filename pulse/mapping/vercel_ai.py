"""Vercel AI SDK (``ai`` scope, ``ai.*`` attributes) — MAPPING.md §4.

Owns call-span content (``ai.prompt.messages``, ``ai.prompt.tools``, ``ai.settings.*``,
``ai.response.text|toolCalls|object|finishReason``) and ``ai.telemetry.metadata.*``.
Classification (``*.doGenerate`` trace vs outer ``ai.generateText`` agent_run) is in ``classify``;
usage keys (``ai.usage.*``, providerMetadata cache) in ``normalize``.
"""

from __future__ import annotations

from typing import Any

from pulse.mapping.attrs import Attrs, as_dict, as_json, as_list, get_str, with_prefix
from pulse.mapping.content import Content, compact
from pulse.mapping.otlp.items import Item


def content(item: Item) -> Content | None:
    """§10.1 rows ``ai.prompt.messages`` (request) and ``ai.response.*`` (response)."""
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
    """``ai.telemetry.metadata.*`` and ``ai.telemetry.functionId`` for metadata (§10.1)."""
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
