"""OpenLLMetry / Traceloop conventions, classic (<= 0.4) and migrated (0.5+) — MAPPING.md §3.

Owns flattened ``gen_ai.prompt.{i}.*`` / ``gen_ai.completion.{i}.*`` content,
``llm.request.functions.*``, ``traceloop.entity.input|output`` and the
``traceloop.association.properties.*`` metadata. The migrated generation uses current GenAI
attribute names and is read by ``genai`` / ``normalize`` (cache keys, total tokens).
"""

from __future__ import annotations

from typing import Any

from pulse.mapping.attrs import Attrs, as_json, get_str, unflatten, with_prefix
from pulse.mapping.content import Content, compact, message_text
from pulse.mapping.genai import request_params
from pulse.mapping.otlp.items import Item


def content(item: Item) -> Content | None:
    """Classic flattened prompt/completion content (§10.1 ``gen_ai.prompt.{i}.*`` row)."""
    a = item.attrs
    prompts = [_message(m) for m in unflatten(a, "gen_ai.prompt.")]
    completions = [_message(m) for m in unflatten(a, "gen_ai.completion.")]
    if not prompts and not completions:
        return None
    functions = [f for f in unflatten(a, "llm.request.functions.") if isinstance(f, dict)]
    request = compact({"tools": functions, "params": request_params(a)})
    request["messages"] = prompts
    first = completions[0] if completions else None
    return Content(
        format="openllmetry",
        request=request,
        response={"messages": completions} if completions else None,
        output_text=message_text(first) if first is not None else None,
        finish=first.get("finish_reason") if isinstance(first, dict) else None,
    )


def _message(entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        return {"content": entry}
    message = dict(entry)
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        message["tool_calls"] = [
            {**c, "arguments": as_json(c.get("arguments"))} if isinstance(c, dict) else c
            for c in calls
        ]
    return message


def entity_content(item: Item) -> Content | None:
    """``traceloop.entity.input`` / ``.output`` (last resort for LLM spans, §10.1)."""
    a = item.attrs
    raw_in, raw_out = a.get("traceloop.entity.input"), a.get("traceloop.entity.output")
    if raw_in is None and raw_out is None:
        return None
    value_in, value_out = as_json(raw_in), as_json(raw_out)
    return Content(
        format="traceloop_entity",
        request=_wrap(value_in, "input"),
        response=_wrap(value_out, "output"),
        output_text=value_out if isinstance(value_out, str) else None,
    )


def _wrap(value: Any, key: str) -> dict[str, Any] | None:
    if value is None:
        return None
    return value if isinstance(value, dict) else {key: value}


def association_metadata(a: Attrs) -> dict[str, Any]:
    """Traceloop association properties and workflow/entity names for metadata (§10.1)."""
    props = with_prefix(a, "traceloop.association.properties.")
    out: dict[str, Any] = {}
    if props:
        out["association_properties"] = props
        if props.get("user_id") is not None:
            out["user_id"] = props["user_id"]
    workflow = get_str(a, "traceloop.workflow.name")
    if workflow:
        out["workflow"] = workflow
    return out
