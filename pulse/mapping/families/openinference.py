"""OpenInference (Arize Phoenix) conventions.

Recognised by ``openinference.span.kind``, which also classifies the span. Content: the
flattened ``llm.input_messages.{i}.message.*`` / ``llm.output_messages.{i}.message.*``,
``llm.invocation_parameters``, ``llm.tools.*``, and the generic ``input.value`` /
``output.value`` (JSON when the mime type says so, or when it parses), whose JSON may carry the
provider's response id. Names: ``llm.provider`` (hosting) and ``llm.system`` (AI product, a
fallback), ``llm.request.model_name`` / ``llm.response.model_name`` (set when they differ) and
``llm.model_name``, ``llm.token_count.*``, ``llm.cost.total`` (USD), ``tool.*``, ``agent.name``.
"""

from __future__ import annotations

from typing import Any

from pulse.mapping.attrs import Attrs, as_dict, as_json, get_str, unflatten
from pulse.mapping.content import Content, compact, message_text
from pulse.mapping.families.base import SPAN, TRACE, Decision, Family, Field, ModelCallTest, keys
from pulse.mapping.otlp.items import Item

_SPAN_KINDS = {
    "TOOL": "tool_use",
    "RETRIEVER": "tool_use",
    "RERANKER": "tool_use",
    "AGENT": "agent_run",
    "CHAIN": "agent_run",
}


def detect(item: Item) -> bool:
    return "openinference.span.kind" in item.attrs


def classify(item: Item, family: str, _model_call: ModelCallTest) -> Decision | None:
    """LLM/EMBEDDING -> trace; tools, retrievers, rerankers -> tool_use; agents, chains ->
    agent_run; any other kind -> notification."""
    kind = (get_str(item.attrs, "openinference.span.kind") or "").upper()
    if not kind:
        return None
    if kind in ("LLM", "EMBEDDING"):
        return Decision(TRACE, family, event_type=kind.lower())
    return Decision(SPAN, family, _SPAN_KINDS.get(kind, "notification"), kind.lower())


def invocation_model(a: Attrs) -> str | None:
    """``model`` inside the ``llm.invocation_parameters`` JSON (the request's own parameters)."""
    return get_str(as_dict(a.get("llm.invocation_parameters")) or {}, "model")


def content(item: Item) -> Content | None:
    """Messages (``llm.input_messages.*``), else ``input.value``/``output.value``."""
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


def io_metadata(a: Attrs) -> dict[str, Any]:
    return {"input": as_json(a.get("input.value")), "output": as_json(a.get("output.value"))}


OPENINFERENCE = Family(
    name="openinference",
    detect=detect,
    io_metadata=io_metadata,
    classify=classify,
    prefixes=("llm.", "openinference."),
    fields={
        Field.PROVIDER: keys("llm.provider", fallback=("llm.system",)),
        Field.REQUEST_MODEL: keys(
            "llm.request.model_name", fallback=(invocation_model, "llm.model_name")
        ),
        Field.RESPONSE_MODEL: keys("llm.response.model_name", fallback=("llm.model_name",)),
        Field.MODEL: keys("llm.model_name"),
        Field.CONTENT: keys(content),
        Field.INPUT_TOKENS: keys("llm.token_count.prompt"),
        Field.OUTPUT_TOKENS: keys("llm.token_count.completion"),
        Field.CACHE_READ_TOKENS: keys("llm.token_count.prompt_details.cache_read"),
        Field.CACHE_WRITE_TOKENS: keys("llm.token_count.prompt_details.cache_write"),
        Field.REASONING_TOKENS: keys("llm.token_count.completion_details.reasoning"),
        Field.TOTAL_TOKENS: keys("llm.token_count.total"),
        Field.COST_USD: keys("llm.cost.total"),
        Field.TOOL_ID: keys("tool.id"),
        Field.TOOL_NAME: keys("tool.name"),
        Field.TOOL_INPUT: keys("input.value"),
        Field.TOOL_OUTPUT: keys("output.value"),
        Field.AGENT_NAME: keys("agent.name"),
    },
)
