"""OpenTelemetry GenAI semantic conventions: current (1.37+) and deprecated (<= 1.36) content.

Owns MAPPING.md §1.5: the parts model on ``gen_ai.input.messages`` / ``gen_ai.output.messages`` /
``gen_ai.system_instructions`` / ``gen_ai.tool.definitions`` (structured AnyValue or JSON strings),
the ``gen_ai.client.inference.operation.details`` event (span event or log record), the
deprecated per-message events (``gen_ai.{system,user,assistant,tool}.message``, ``gen_ai.choice``)
and the oldest ``gen_ai.content.prompt|completion`` events / ``gen_ai.prompt`` attributes.
"""

from __future__ import annotations

from typing import Any

from pulse.mapping.attrs import Attrs, as_dict, as_json, as_list, get_json, with_prefix
from pulse.mapping.content import Content, compact, message_text
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


def request_params(attrs: Attrs) -> dict[str, Any]:
    """``gen_ai.request.*`` except the model (-> request_body.params, metadata.params)."""
    return {
        k: as_json(v) for k, v in with_prefix(attrs, "gen_ai.request.").items()
        if k not in _PARAM_SKIP
    }


def current_content(item: Item) -> Content | None:
    """Parts-model content from span attributes, else from a details event (§1.5, §10.1)."""
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
    """Deprecated per-message events carried as span events with flattened attributes (§1.5)."""
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
    ``gen_ai.content.prompt|completion`` events), JSON strings of messages."""
    prompt = completion = None
    for attrs in [item.attrs] + [ev.attrs for ev in item.events]:
        prompt = prompt if prompt is not None else as_list(attrs.get("gen_ai.prompt"))
        completion = (
            completion if completion is not None else as_list(attrs.get("gen_ai.completion"))
        )
    if prompt is None and completion is None:
        return None
    first = completion[0] if completion else None
    return Content(
        format="otel_genai_legacy",
        request={"messages": prompt} if prompt is not None else None,
        response={"messages": completion} if completion is not None else None,
        output_text=message_text(first) if first is not None else None,
        finish=first.get("finish_reason") if isinstance(first, dict) else None,
    )
