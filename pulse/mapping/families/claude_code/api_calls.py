"""One Claude Code LLM call assembled from its log events: the ``api_request`` / ``api_error``
event, plus the request/response bodies, refusal and assistant-response events of the same export
that belong to it (joined in :mod:`.logs`).
"""

from __future__ import annotations

from typing import Any

from pulse.mapping.attrs import as_dict, get_int, get_str
from pulse.mapping.content import clean_output_text, compact, part_text
from pulse.mapping.families.claude_code.identity import request_trace_id
from pulse.mapping.finish import finish_reason
from pulse.mapping.otlp.items import Item
from pulse.mapping.timestamps import duration_ms


class TraceParts:
    """An ``api_request``/``api_error`` event plus what later events add to it."""

    def __init__(self, item: Item, name: str) -> None:
        self.item, self.name = item, name
        self.key = request_trace_id(item)
        self.request_id = get_str(item.attrs, "request_id")
        duration = duration_ms(get_int(item.attrs, "duration_ms"))
        self.duration_ms = float(duration) if duration is not None and duration >= 0 else 0.0
        # the event is emitted when the call ends: the call started duration_ms earlier
        self.start_ns = max(item.start_ns - int(self.duration_ms * 1_000_000), 1)
        self.request_body: dict[str, Any] | None = None
        self.response_body: dict[str, Any] | None = None
        self.refusal: bool | None = None
        self.redacted = False
        self.response_text: str | None = None

    def same_turn(self, other: Item) -> bool:
        keys = ("session.id", "prompt.id", "query_source")
        return all(get_str(self.item.attrs, k) == get_str(other.attrs, k) for k in keys)

    def set_body(self, slot: str, item: Item) -> None:
        a = item.attrs
        body = as_dict(a.get("body"))
        if body is None:
            raw, ref = get_str(a, "body"), get_str(a, "body_ref")
            body = compact({"body_ref": ref, "raw": raw, "truncated": True if raw else None})
        if get_str(a, "body_truncated") == "true":
            body = {**body, "_truncated": True}
        setattr(self, slot, body)

    def merge_event(self, name: str, item: Item) -> None:
        if name == "api_refusal":
            self.refusal = True
            return
        text, redacted = clean_output_text(get_str(item.attrs, "response"))
        self.response_text, self.redacted = text, redacted

    def error(self) -> dict[str, Any] | None:
        if self.name != "api_error":
            return None
        a = self.item.attrs
        text, code, attempt = get_str(a, "error"), get_int(a, "status_code"), get_int(a, "attempt")
        message = " ".join(str(p) for p in (code, text) if p is not None) or "API error"
        if attempt is not None:
            message += f" (attempt {attempt})"
        return compact({"message": message, "type": text, "status_code": code,
                        "attempt": attempt})

    def output_text(self) -> str | None:
        blocks = (self.response_body or {}).get("content")
        if isinstance(blocks, list):
            return "".join(t for t in (part_text(b) for b in blocks) if t is not None)
        return self.response_text

    def finish(self) -> tuple[str | None, str | None]:
        raw = get_str(self.response_body or {}, "stop_reason")
        if raw is None and self.refusal:
            raw = "refusal"
        return finish_reason(raw)

    def message_id(self) -> str | None:
        return get_str(self.response_body or {}, "id")

    def content_format(self) -> str:
        return "anthropic_messages" if self.request_body or self.response_body else "none"
