"""pydantic-ai / Logfire instrumentation.

Recognised by the ``pydantic-ai`` scope or ``pydantic_ai.all_messages``. Model spans (``chat
...``, or any span with a model and token counts) are traces; ``agent run`` / ``invoke_agent``
agent runs; ``running tool`` / ``execute_tool`` tools. Content of instrumentation version 1: the
JSON ``events`` attribute on model spans (a list of GenAI events with ``event.name``), and
``pydantic_ai.all_messages`` on agent-run spans. Newer versions use the current GenAI attributes
(read as OTel GenAI). Tool spans keep ``tool_arguments`` / ``tool_response``.
"""

from __future__ import annotations

from typing import Any

from pulse.mapping.attrs import Attrs, as_json, as_list
from pulse.mapping.content import Content, message_text
from pulse.mapping.families.base import SPAN, TRACE, Decision, Family, Field, ModelCallTest, keys
from pulse.mapping.families.otel_genai import legacy_from_events
from pulse.mapping.otlp.items import Item


def detect(item: Item) -> bool:
    return (
        item.scope_name in ("pydantic-ai", "pydantic_ai")
        or "pydantic_ai.all_messages" in item.attrs
    )


def classify(item: Item, family: str, model_call: ModelCallTest) -> Decision | None:
    if family != "pydantic_ai":
        return None
    name = item.name.lower()
    if name.startswith("chat ") or model_call(item):
        return Decision(TRACE, family, event_type="chat")
    if name.startswith(("agent run", "invoke_agent")):
        return Decision(SPAN, family, "agent_run", "agent_run")
    if name.startswith(("running tool", "execute_tool")):
        return Decision(SPAN, family, "tool_use", "execute_tool")
    return None


def content(item: Item) -> Content | None:
    """v1 ``events`` attribute: per-message GenAI events serialised as one JSON array."""
    events = as_list(item.attrs.get("events"))
    if not events:
        return _all_messages(item)
    pairs = [
        (str(ev.get("event.name") or ev.get("event_name") or ""), ev)
        for ev in events
        if isinstance(ev, dict)
    ]
    found = legacy_from_events(pairs)
    if found is None:
        return None
    return Content(
        format="pydantic_ai_events",
        request=found.request,
        response=found.response,
        output_text=found.output_text,
        finish=found.finish,
    )


def _all_messages(item: Item) -> Content | None:
    messages: list[Any] | None = as_list(item.attrs.get("pydantic_ai.all_messages"))
    if messages is None:
        messages = as_list(item.attrs.get("all_messages_events"))
    if messages is None:
        return None
    last = messages[-1] if messages else None
    return Content(
        format="pydantic_ai_messages",
        request={"messages": messages},
        output_text=message_text(last) if last is not None else None,
    )


def io_metadata(a: Attrs) -> dict[str, Any]:
    return {"final_result": as_json(a.get("final_result"))}


PYDANTIC_AI = Family(
    name="pydantic_ai",
    detect=detect,
    io_metadata=io_metadata,
    classify=classify,
    tool_span_prefix="running tool ",
    fields={
        Field.CONTENT: keys(content),
        Field.TOOL_INPUT: keys("tool_arguments"),
        Field.TOOL_OUTPUT: keys("tool_response"),
        Field.AGENT_NAME: keys("agent_name"),
    },
)
