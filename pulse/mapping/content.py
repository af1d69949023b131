"""The shape every convention's content extractor returns, and message-text helpers.

Each convention module offers ``content(item) -> Content | None``; the trace builder takes each
part from the first family reader (in the registry's content order) that has it: request body,
response body, output text, finish reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REDACTED = "<REDACTED>"


@dataclass(frozen=True, slots=True)
class Content:
    """Request/response content found on one item in one convention (``format`` names it)."""

    format: str
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    output_text: str | None = None
    finish: Any = None
    extra: dict[str, Any] | None = None  # convention-specific metadata (e.g. provider_request_id)


def compact(mapping: dict[str, Any]) -> dict[str, Any]:
    """``mapping`` without None/empty values."""
    return {k: v for k, v in mapping.items() if v is not None and v != [] and v != {}}


def part_text(part: Any) -> str | None:
    """Text of one content part: OTel ``{type: text, content}``, ``{type: text, text}``, a str."""
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        return None
    kind = part.get("type")
    if kind not in (None, "text", "output_text", "input_text"):
        return None
    text = part.get("content", part.get("text"))
    return text if isinstance(text, str) else None


def message_text(message: Any) -> str | None:
    """Concatenated text of a message in the parts model or the ``{role, content}`` shape.

    Returns "" for a message that has only non-text parts (e.g. just a tool call) and None when
    the message carries no recognisable content at all.
    """
    if isinstance(message, str):
        return message
    if not isinstance(message, dict):
        return None
    for key in ("parts", "content", "contents"):
        value = message.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            texts = [t for t in (part_text(p) for p in value) if t is not None]
            return "".join(texts)
    if message.get("tool_calls") or message.get("toolCalls"):
        return ""
    return None


def clean_output_text(text: str | None) -> tuple[str | None, bool]:
    """(text, redacted): the ``<REDACTED>`` placeholder of exporters that hide content is never
    stored as text; the record says ``redacted`` instead."""
    if text is not None and text.strip() == REDACTED:
        return None, True
    return text, False
