"""OpenLLMetry / Traceloop conventions, classic (<= 0.4) and migrated (0.5+).

Recognised by ``llm.request.type``, ``llm.usage.total_tokens``, ``gen_ai.is_streaming`` or any
``traceloop.*`` / flattened ``gen_ai.prompt.*`` / ``gen_ai.completion.*`` attribute. Classified by
``llm.request.type`` (model calls) and ``traceloop.span.kind`` (tool, agent, task, workflow).
Content: flattened ``gen_ai.prompt.{i}.*`` / ``gen_ai.completion.{i}.*``,
``llm.request.functions.*``, and as a last resort ``traceloop.entity.input|output``. The classic
cache names (``gen_ai.usage.cache_read_input_tokens``...) come beside an Anthropic-native input
that excludes them. ``traceloop.entity.*`` also names and feeds tool and agent spans, but only on
spans of that kind. The migrated generation uses current GenAI names (read as OTel GenAI).
"""

from __future__ import annotations

from typing import Any

from pulse.mapping.attrs import (
    Attrs,
    as_json,
    get_json,
    get_str,
    has_prefix,
    unflatten,
    with_prefix,
)
from pulse.mapping.content import Content, compact, message_text
from pulse.mapping.families.base import SPAN, TRACE, Decision, Family, Field, ModelCallTest, keys
from pulse.mapping.families.otel_genai import request_params
from pulse.mapping.otlp.items import Item

_MODEL_CALLS = ("chat", "completion", "embedding", "rerank")


def detect(item: Item) -> bool:
    a = item.attrs
    return (
        "llm.request.type" in a
        or "llm.usage.total_tokens" in a
        or "gen_ai.is_streaming" in a
        or has_prefix(a, "traceloop.", "gen_ai.prompt.", "gen_ai.completion.")
    )


def classify(item: Item, family: str, _model_call: ModelCallTest) -> Decision | None:
    """Model calls by ``llm.request.type``; tool / agent / task / workflow spans by
    ``traceloop.span.kind`` (a root workflow is the session)."""
    request_type = (get_str(item.attrs, "llm.request.type") or "").lower()
    if request_type in _MODEL_CALLS:
        return Decision(TRACE, family, event_type=request_type)
    span_kind = (get_str(item.attrs, "traceloop.span.kind") or "").lower()
    if span_kind == "tool":
        return Decision(SPAN, family, "tool_use", span_kind)
    if span_kind in ("agent", "task", "workflow"):
        root_workflow = span_kind == "workflow" and item.parent_id is None
        return Decision(SPAN, family, "session" if root_workflow else "agent_run", span_kind)
    return None


# field -> (the span kinds on which a traceloop.entity.* key means that field, the key)
_ENTITY_FIELDS = {
    Field.TOOL_NAME: (("tool",), "traceloop.entity.name"),
    Field.TOOL_INPUT: (("tool",), "traceloop.entity.input"),
    Field.TOOL_OUTPUT: (("tool",), "traceloop.entity.output"),
    Field.AGENT_NAME: (("agent", "workflow"), "traceloop.entity.name"),
}


def entity_value(a: Attrs, field: Field) -> Any:
    """``traceloop.entity.*`` as a tool's name/input/output or an agent's name, only on spans
    whose ``traceloop.span.kind`` makes the entity that tool or agent."""
    kinds, key = _ENTITY_FIELDS.get(field, ((), ""))
    if not kinds or get_str(a, "traceloop.span.kind") not in kinds:
        return None
    return get_str(a, key) if key == "traceloop.entity.name" else get_json(a, key)


def content(item: Item) -> Content | None:
    """Classic flattened prompt/completion content (``gen_ai.prompt.{i}.*``)."""
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
    """``traceloop.entity.input`` / ``.output`` (last resort for LLM spans)."""
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
    """Traceloop association properties and the workflow name, for trace metadata."""
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


def io_metadata(a: Attrs) -> dict[str, Any]:
    return {"entity_input": as_json(a.get("traceloop.entity.input")),
            "entity_output": as_json(a.get("traceloop.entity.output"))}


OPENLLMETRY = Family(
    name="openllmetry",
    detect=detect,
    io_metadata=io_metadata,
    classify=classify,
    prefixes=("traceloop.",),
    trace_metadata=association_metadata,
    conditional=entity_value,
    fields={
        Field.SESSION: keys("traceloop.association.properties.session_id"),
        Field.RESPONSE_MODEL: keys(fallback=("llm.response.model",)),
        Field.CONTENT: keys(content, fallback=(entity_content,)),
        Field.FINISH_REASON: keys(last=("llm.response.finish_reason",)),
        Field.CACHE_READ_EXCLUDED: keys("gen_ai.usage.cache_read_input_tokens"),
        Field.CACHE_WRITE_EXCLUDED: keys("gen_ai.usage.cache_creation_input_tokens"),
        Field.REASONING_TOKENS: keys("llm.usage.reasoning_tokens"),
        Field.TOTAL_TOKENS: keys("llm.usage.total_tokens"),
        Field.OPERATION: keys("llm.request.type"),
    },
)
