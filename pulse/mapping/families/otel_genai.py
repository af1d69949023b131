"""OpenTelemetry GenAI semantic conventions, current (1.37+) and deprecated (<= 1.36).

Two registry entries: ``OTEL_GENAI`` (the default family of any span no other family claims) and
``OTEL_GENAI_DEPRECATED`` (``gen_ai.system``, ``gen_ai.usage.prompt_tokens`` / ``completion_tokens``
and the old content shapes), consulted right after the current names.

Content: the parts model on ``gen_ai.input.messages`` / ``gen_ai.output.messages`` /
``gen_ai.system_instructions`` / ``gen_ai.tool.definitions`` (structured AnyValue or JSON
strings), also carried by the ``gen_ai.client.inference.operation.details`` event (span event or
log record); the deprecated per-message events (``gen_ai.{system,user,assistant,tool}.message``,
``gen_ai.choice``); the oldest ``gen_ai.content.prompt|completion`` events / ``gen_ai.prompt``
attributes. Classification: ``gen_ai.operation.name``.
"""

from __future__ import annotations

import re
from typing import Any

from pulse.mapping.attrs import Attrs, as_dict, as_json, as_list, get_json, get_str, with_prefix
from pulse.mapping.content import Content, compact, message_text
from pulse.mapping.families.base import SPAN, TRACE, Decision, Family, Field, ModelCallTest, keys
from pulse.mapping.otlp.items import Item

DETAILS_EVENT = "gen_ai.client.inference.operation.details"
MESSAGE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
CHOICE_EVENT = "gen_ai.choice"
LEGACY_EVENTS = frozenset({*MESSAGE_EVENTS, CHOICE_EVENT})
_PARAM_SKIP = {"model"}
LLM_OPERATIONS = frozenset(
    {"chat", "text_completion", "generate_content", "completion", "generate", "embeddings"}
)


def classify(item: Item, family: str, _model_call: ModelCallTest) -> Decision | None:
    """``gen_ai.operation.name``: model operations -> trace; tools, agents, workflows -> spans."""
    op = (get_str(item.attrs, "gen_ai.operation.name") or "").lower()
    if not op:
        return None
    if op in LLM_OPERATIONS:
        return Decision(TRACE, family, event_type=op)
    if op in ("execute_tool", "retrieval"):
        return Decision(SPAN, family, "tool_use", op)
    if op in ("invoke_agent", "create_agent"):
        return Decision(SPAN, family, "agent_run", op)
    if op == "invoke_workflow":
        kind = "session" if item.parent_id is None else "agent_run"
        return Decision(SPAN, family, kind, op)
    return None


def request_params(attrs: Attrs) -> dict[str, Any]:
    """``gen_ai.request.*`` except the model (-> request_body.params, metadata.params)."""
    return {
        k: as_json(v) for k, v in with_prefix(attrs, "gen_ai.request.").items()
        if k not in _PARAM_SKIP
    }


def current_content(item: Item) -> Content | None:
    """Parts-model content from span attributes, else from a details event."""
    sources: list[Attrs] = [item.attrs]
    sources += [ev.attrs for ev in item.events if ev.name == DETAILS_EVENT]
    for attrs in sources:
        content = _parts_content(attrs)
        if content is not None:
            return content
    return None


def _parts_content(attrs: Attrs) -> Content | None:
    system = as_json(get_json(attrs, "gen_ai.system_instructions"))
    messages = as_list(attrs.get("gen_ai.input.messages"))
    tools = as_list(attrs.get("gen_ai.tool.definitions"))
    output = as_list(attrs.get("gen_ai.output.messages"))
    if system is None and messages is None and output is None:
        return None
    request = None
    if system is not None or messages is not None:
        request = compact({"system": system, "tools": tools, "params": request_params(attrs)})
        request["messages"] = messages or []
    first = output[0] if output else None
    return Content(
        format="otel_genai",
        request=request,
        response={"messages": output} if output is not None else None,
        output_text=message_text(first) if first is not None else None,
        finish=first.get("finish_reason") if isinstance(first, dict) else None,
    )


def legacy_content(item: Item) -> Content | None:
    """Deprecated per-message events carried as span events with flattened attributes."""
    events = [(ev.name, _event_payload(ev.attrs)) for ev in item.events]
    content = legacy_from_events(events)
    if content is not None:
        return content
    return _oldest_content(item)


def _event_payload(attrs: Attrs) -> dict[str, Any]:
    return {k: as_json(v) for k, v in attrs.items() if not k.startswith("gen_ai.")}


def legacy_from_events(events: list[tuple[str, dict[str, Any]]]) -> Content | None:
    """Rebuild request/response from ``(event name, body)`` pairs in their original order."""
    messages: list[dict[str, Any]] = []
    choices: list[dict[str, Any]] = []
    for name, payload in events:
        if name in MESSAGE_EVENTS:
            messages.append(_legacy_message(MESSAGE_EVENTS[name], payload))
        elif name == CHOICE_EVENT:
            choices.append(_legacy_choice(payload))
    if not messages and not choices:
        return None
    choices.sort(key=lambda c: c.get("index") if isinstance(c.get("index"), int) else 0)
    first = choices[0] if choices else None
    message = first.get("message") if first else None
    return Content(
        format="otel_genai_events",
        request={"messages": messages} if messages else None,
        response={"choices": choices} if choices else None,
        output_text=message_text(message) if message is not None else None,
        finish=first.get("finish_reason") if first else None,
    )


def _legacy_message(role: str, payload: dict[str, Any]) -> dict[str, Any]:
    message = {"role": payload.get("role") or role}
    for key in ("content", "tool_calls", "id", "name"):
        if payload.get(key) is not None:
            message[key] = as_json(payload[key]) if key == "tool_calls" else payload[key]
    return message


def _legacy_choice(payload: dict[str, Any]) -> dict[str, Any]:
    message = as_dict(payload.get("message"))
    if message is None and payload.get("message") is not None:
        message = {"role": "assistant", "content": payload.get("message")}
    index = payload.get("index")
    try:
        index = int(index) if index is not None else 0
    except (TypeError, ValueError):
        index = 0
    return compact(
        {"index": index, "finish_reason": payload.get("finish_reason"), "message": message}
    )


def _oldest_content(item: Item) -> Content | None:
    """<= 1.27: ``gen_ai.prompt`` / ``gen_ai.completion`` attributes (on the span or on
    ``gen_ai.content.prompt|completion`` events), JSON strings of messages; OpenLIT (<= 1.36)
    puts plain text there instead (:func:`_openlit_content`)."""
    prompt = completion = None
    prompt_text = completion_text = None
    for attrs in [item.attrs] + [ev.attrs for ev in item.events]:
        prompt = prompt if prompt is not None else as_list(attrs.get("gen_ai.prompt"))
        completion = (
            completion if completion is not None else as_list(attrs.get("gen_ai.completion"))
        )
        prompt_text = prompt_text if prompt_text is not None else _text(attrs, "gen_ai.prompt")
        completion_text = (completion_text if completion_text is not None
                           else _text(attrs, "gen_ai.completion"))
    if prompt is None and completion is None:
        if prompt_text is None and completion_text is None:
            return None
        return _openlit_content(item, prompt_text, completion_text)
    first = completion[0] if completion else None
    return Content(
        format="otel_genai_legacy",
        request={"messages": prompt} if prompt is not None else None,
        response={"messages": completion} if completion is not None else None,
        output_text=message_text(first) if first is not None else None,
        finish=first.get("finish_reason") if isinstance(first, dict) else None,
    )


def _text(attrs: Attrs, key: str) -> str | None:
    value = attrs.get(key)
    return value if isinstance(value, str) else None


# OpenLIT renders the conversation as "role: content" lines (a line without a known role
# continues the previous message: content may span lines).
_ROLE_LINE = re.compile(r"^(system|developer|user|assistant|tool|function): ?(.*)$", re.S)


def _openlit_messages(text: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for line in text.split("\n"):
        match = _ROLE_LINE.match(line)
        if match:
            messages.append({"role": match.group(1), "content": match.group(2)})
        elif messages:
            messages[-1]["content"] += "\n" + line
        else:
            messages.append({"role": "user", "content": line})
    return messages


def _openlit_content(item: Item, prompt: str | None, completion: str | None) -> Content:
    """OpenLIT's plain-text ``gen_ai.prompt`` / ``gen_ai.completion``, and the tool call it
    records on the chat span as ``gen_ai.tool.name`` / ``gen_ai.tool.call.id`` /
    ``gen_ai.tool.args``."""
    response = None
    tool = get_str(item.attrs, "gen_ai.tool.name")
    if completion is not None or tool:
        message: dict[str, Any] = {"role": "assistant", "content": completion or ""}
        if tool:
            message["tool_calls"] = [{
                "id": get_str(item.attrs, "gen_ai.tool.call.id"), "type": "function",
                "function": {"name": tool,
                             "arguments": get_str(item.attrs, "gen_ai.tool.args") or ""}}]
        response = {"messages": [message]}
    return Content(
        format="openlit",
        request={"messages": _openlit_messages(prompt)} if prompt else None,
        response=response,
        output_text=completion if completion is not None else ("" if tool else None),
    )


OTEL_GENAI = Family(
    name="otel_genai",
    classify=classify,
    prefixes=("gen_ai.",),
    tool_span_prefix="execute_tool ",
    fields={
        Field.SESSION: keys("gen_ai.conversation.id"),
        Field.PROVIDER: keys("gen_ai.provider.name"),
        Field.REQUEST_MODEL: keys("gen_ai.request.model"),
        Field.RESPONSE_MODEL: keys("gen_ai.response.model"),
        Field.MODEL: keys("gen_ai.response.model", "gen_ai.request.model"),
        Field.RESPONSE_ID: keys("gen_ai.response.id"),
        Field.CONTENT: keys(current_content),
        # the anthropic SDK's own spans (2.x) carry only the raw stop reason
        Field.FINISH_REASON: keys("gen_ai.response.finish_reasons",
                                  fallback=("anthropic.message.stop_reason",)),
        Field.INPUT_TOKENS: keys("gen_ai.usage.input_tokens"),
        Field.OUTPUT_TOKENS: keys("gen_ai.usage.output_tokens"),
        Field.CACHE_READ_TOKENS: keys("gen_ai.usage.cache_read.input_tokens"),
        Field.CACHE_WRITE_TOKENS: keys("gen_ai.usage.cache_creation.input_tokens",
                                       fallback=("gen_ai.usage.cache_write.input_tokens",)),
        Field.REASONING_TOKENS: keys("gen_ai.usage.reasoning.output_tokens"),
        Field.TOTAL_TOKENS: keys("gen_ai.usage.total_tokens"),  # OpenLIT, migrated OpenLLMetry
        Field.COST_USD: keys("gen_ai.usage.cost"),  # OpenLIT
        Field.TTFT_SECONDS: keys("gen_ai.response.time_to_first_chunk"),
        Field.OPERATION: keys("gen_ai.operation.name"),
        # 1.37 renamed gen_ai.openai.* to openai.*; both are read, the older name first
        Field.SYSTEM_FINGERPRINT: keys(
            "gen_ai.openai.response.system_fingerprint", "openai.response.system_fingerprint"
        ),
        Field.TOOL_ID: keys("gen_ai.tool.call.id"),
        Field.TOOL_NAME: keys("gen_ai.tool.name"),
        Field.TOOL_INPUT: keys("gen_ai.tool.call.arguments"),
        Field.TOOL_OUTPUT: keys("gen_ai.tool.call.result"),
        Field.AGENT_NAME: keys("gen_ai.agent.name", last=("gen_ai.workflow.name",)),
    },
)

OTEL_GENAI_DEPRECATED = Family(
    name="otel_genai_deprecated",
    fields={
        Field.PROVIDER: keys("gen_ai.system"),
        Field.INPUT_TOKENS: keys("gen_ai.usage.prompt_tokens"),
        Field.OUTPUT_TOKENS: keys("gen_ai.usage.completion_tokens"),
        Field.CONTENT: keys(legacy_content),
    },
)
