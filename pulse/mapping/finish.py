"""Finish reasons in the Pulse SDK's words: ``stop``, ``length``, ``tool_calls``,
``content_filter``, ``error``; any other value is kept as sent (the raw value goes to metadata).
"""

from __future__ import annotations

from typing import Any

from pulse.mapping.attrs import as_str

_FINISH = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "complete": "stop",
    "eos": "stop",
    "length": "length",
    "max_tokens": "length",
    "model_length": "length",
    "tool_call": "tool_calls",
    "tool_calls": "tool_calls",
    "tool_use": "tool_calls",
    "tool-calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    "content-filter": "content_filter",
    "safety": "content_filter",
    "recitation": "content_filter",
    "refusal": "content_filter",
    "error": "error",
}


def finish_reason(raw: Any) -> tuple[str | None, str | None]:
    """(Pulse finish reason, raw value); a list counts by its first element; unknown kept raw."""
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    text = as_str(raw)
    if text is None:
        return None, None
    return _FINISH.get(text.lower(), text), text
