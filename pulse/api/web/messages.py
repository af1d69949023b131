"""Readable chat messages from stored request/response bodies (trace detail page).

Pure functions over the JSON of a trace row. Understands the body shapes Pulse Bridge stores:
OpenAI Chat Completions (``messages``, ``tool_calls``, ``choices``), OpenAI Responses
(``instructions``, ``input``, ``output``), Anthropic Messages (``system``, content blocks
``text``/``tool_use``/``tool_result``/``thinking``) and the OpenTelemetry GenAI message form
(``parts`` with ``text``/``tool_call``/``tool_call_response``). Anything else is still shown as
collapsible JSON by the template; nothing here drops data silently.
"""

from __future__ import annotations

from typing import Any

import orjson

Message = dict[str, Any]  # {"role": str, "parts": [{"type": text|tool_call|tool_result|other}]}


def _json_text(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def _part(block: Any) -> dict[str, Any] | None:
    if block is None:
        return None
    if isinstance(block, str):
        return {"type": "text", "text": block}
    if not isinstance(block, dict):
        return {"type": "other", "text": _json_text(block)}
    kind = block.get("type")
    if kind in (None, "text", "input_text", "output_text"):
        text = block.get("text", block.get("content"))
        if isinstance(text, str):
            return {"type": "text", "text": text}
    if kind in ("thinking", "reasoning"):
        return {"type": "thinking", "text": str(block.get("thinking") or block.get("content")
                                                 or block.get("summary") or "")}
    if kind in ("tool_use", "tool_call", "function_call"):
        args = block.get("input", block.get("arguments"))
        return {"type": "tool_call", "name": block.get("name") or "tool",
                "id": block.get("id") or block.get("call_id"), "text": _json_text(args)}
    if kind in ("tool_result", "tool_call_response", "function_call_output"):
        content = block.get("content", block.get("response", block.get("output")))
        if isinstance(content, list):
            content = "\n".join(p.get("text", "") if isinstance(p, dict) else str(p)
                                for p in content)
        return {"type": "tool_result", "id": block.get("tool_use_id") or block.get("id")
                or block.get("call_id"), "text": _json_text(content),
                "error": bool(block.get("is_error"))}
    if kind in ("image", "image_url", "input_image"):
        return {"type": "other", "text": "[image]"}
    return {"type": "other", "text": _json_text(block)}


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, list):
        return [p for p in map(_part, content) if p]
    part = _part(content)
    return [part] if part else []


def message(raw: Any, default_role: str = "user") -> Message | None:
    if isinstance(raw, str):
        return {"role": default_role, "parts": [{"type": "text", "text": raw}]}
    if not isinstance(raw, dict):
        return None
    if "role" not in raw and raw.get("type") in ("function_call", "function_call_output"):
        role = "assistant" if raw["type"] == "function_call" else "tool"
        return {"role": role, "parts": _parts(raw)}
    role = str(raw.get("role") or default_role)
    parts = _parts(raw.get("parts", raw.get("content")))
    for call in raw.get("tool_calls") or []:
        fn = call.get("function", {}) if isinstance(call, dict) else {}
        parts.append({"type": "tool_call", "name": fn.get("name") or "tool",
                      "id": call.get("id"), "text": _json_text(fn.get("arguments"))})
    if role == "tool" and raw.get("tool_call_id"):
        parts = [{"type": "tool_result", "id": raw["tool_call_id"],
                  "text": "\n".join(p.get("text", "") for p in parts), "error": False}]
    return {"role": role, "parts": parts}


def request_messages(body: Any) -> list[Message]:
    if not isinstance(body, dict):
        return []
    out: list[Message] = []
    system = body.get("system", body.get("instructions"))
    if system:
        out.append({"role": "system", "parts": _parts(system)})
    raw = body.get("messages", body.get("input"))
    if isinstance(raw, str):
        raw = [raw]
    for item in raw if isinstance(raw, list) else []:
        m = message(item)
        if m and m["parts"]:
            out.append(m)
    return out


def response_messages(body: Any, output_text: str | None = None) -> list[Message]:
    out: list[Message] = []
    if isinstance(body, dict):
        for choice in body.get("choices") or []:
            m = message((choice or {}).get("message"), "assistant")
            if m:
                out.append(m)
        if isinstance(body.get("content"), list):  # Anthropic Messages
            out.append({"role": body.get("role") or "assistant", "parts": _parts(body["content"])})
        for item in body.get("output") or [] if isinstance(body.get("output"), list) else []:
            m = message(item, "assistant")
            if m and m["parts"]:
                out.append(m)
        for item in body.get("messages") or [] if not out else []:
            m = message(item, "assistant")
            if m:
                out.append(m)
    if not out and output_text:
        out.append({"role": "assistant", "parts": [{"type": "text", "text": output_text}]})
    return out


def cache_tokens(row: dict[str, Any]) -> dict[str, int | None]:
    """Cache-read / cache-write tokens from metadata or the provider's usage block."""
    meta = row.get("metadata") or {}
    usage = (row.get("responseBody") or {}).get("usage") or {}
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
    read = meta.get("cache_read_input_tokens", usage.get("cache_read_input_tokens",
                                                         details.get("cached_tokens")))
    write = meta.get("cache_creation_input_tokens", usage.get("cache_creation_input_tokens"))
    reasoning = (usage.get("completion_tokens_details") or usage.get("output_tokens_details")
                 or {}).get("reasoning_tokens", meta.get("reasoning_tokens"))
    return {"read": read, "write": write, "reasoning": reasoning}
