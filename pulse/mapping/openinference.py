"""OpenInference (Arize Phoenix) conventions — MAPPING.md §2.

Owns the flattened ``llm.input_messages.{i}.message.*`` / ``llm.output_messages.{i}.message.*``
content, ``llm.invocation_parameters``, ``llm.tools.*``, generic ``input.value`` /
``output.value`` (JSON when the mime type says so), and the response id hidden in
``output.value``. Token and cost keys are read by ``normalize``; provider by ``traces``.
"""

from __future__ import annotations

from typing import Any

from pulse.mapping.attrs import Attrs, as_dict, as_json, get_str, unflatten
from pulse.mapping.content import Content, compact, message_text
from pulse.mapping.otlp.items import Item


def content(item: Item) -> Content | None:
    """Messages (§10.1 ``llm.input_messages.*`` row), else ``input.value``/``output.value``."""
    a = item.attrs
    inputs = [_message(m) for m in unflatten(a, "llm.input_messages.")]
    outputs = [_message(m) for m in unflatten(a, "llm.output_messages.")]
    io_content = io_value_content(a)
    if not inputs and not outputs:
        return io_content
    params = as_dict(a.get("llm.invocation_parameters"))
    tools = [as_json(t.get("tool", {}).get("json_schema")) for t in unflatten(a, "llm.tools.")
             if isinstance(t, dict) and isinstance(t.get("tool"), dict)]
    request = compact({"params": params, "tools": tools})
    request["messages"] = inputs
    first = outputs[0] if outputs else None
    return Content(
        format="openinference",
        request=request,
        response={"messages": outputs} if outputs else (io_content and io_content.response),
        output_text=message_text(first) if first is not None else None,
        finish=get_str(a, "llm.finish_reason"),
        extra=io_content.extra if io_content else None,
    )


def _message(entry: Any) -> dict[str, Any]:
    """``{"message": {role, content, contents, tool_calls: [{tool_call: {...}}]}}`` -> plain."""
    message = entry.get("message") if isinstance(entry, dict) else None
    if not isinstance(message, dict):
        return {}
    out: dict[str, Any] = {}
    for key in ("role", "content", "name", "tool_call_id"):
        if message.get(key) is not None:
            out[key] = message[key]
    contents = message.get("contents")
    if isinstance(contents, list):
        out["contents"] = [c.get("message_content", c) for c in contents if isinstance(c, dict)]
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        out["tool_calls"] = [_tool_call(c) for c in calls]
    return out


def _tool_call(entry: Any) -> dict[str, Any]:
    call = entry.get("tool_call", entry) if isinstance(entry, dict) else {}
    if not isinstance(call, dict):
        return {}
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    return compact(
        {
            "id": call.get("id"),
            "type": "function",
            "function": compact(
                {"name": function.get("name"), "arguments": as_json(function.get("arguments"))}
            ),
        }
    )


def io_value_content(a: Attrs) -> Content | None:
    """``input.value`` / ``output.value`` (JSON when the mime type says so or when it parses)."""
    raw_in, raw_out = a.get("input.value"), a.get("output.value")
    if raw_in is None and raw_out is None:
        return None
    value_in = _io_value(raw_in, get_str(a, "input.mime_type"))
    value_out = _io_value(raw_out, get_str(a, "output.mime_type"))
    text_out = value_out if isinstance(value_out, str) else None
    out_dict = value_out if isinstance(value_out, dict) else None
    request = value_in if isinstance(value_in, dict) else (
        {"input": value_in} if value_in is not None else None
    )
    response = out_dict if out_dict is not None else (
        {"output": value_out} if value_out is not None else None
    )
    finish = None
    if out_dict and isinstance(out_dict.get("choices"), list) and out_dict["choices"]:
        first = out_dict["choices"][0]
        finish = first.get("finish_reason") if isinstance(first, dict) else None
    return Content(
        format="io_value",
        request=request,
        response=response,
        output_text=text_out,
        finish=finish,
        extra={"provider_request_id": get_str(out_dict, "id")} if out_dict else None,
    )


def _io_value(value: Any, mime: str | None) -> Any:
    if value is None:
        return None
    if mime == "text/plain":
        return value
    return as_json(value)
