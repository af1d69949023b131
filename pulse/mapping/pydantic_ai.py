"""pydantic-ai / Logfire instrumentation — MAPPING.md §4 "Pydantic Logfire / pydantic-ai".

Owns instrumentation-version-1 content: the JSON ``events`` attribute on model spans (a list of
GenAI events with ``event.name``), and ``pydantic_ai.all_messages`` / ``final_result`` on agent-run
spans. Newer pydantic-ai versions use the current GenAI attributes (read by ``genai``); tool
spans' ``tool_arguments`` / ``tool_response`` are read by the span builder's chains.
"""

from __future__ import annotations

from typing import Any

from pulse.mapping.attrs import as_list
from pulse.mapping.content import Content, message_text
from pulse.mapping.genai import legacy_from_events
from pulse.mapping.otlp.items import Item


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
