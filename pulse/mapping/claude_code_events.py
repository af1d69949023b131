"""Claude Code shared pieces: stable ids, provider inference, event metadata, trace assembly parts.

Ids (MAPPING.md §10.2) are shared by the log mapping (``claude_code``) and the beta-trace mapping
(``claude_code_spans``) so that both halves of the same thing land on one row:
``request_id``/``client_request_id`` for LLM calls, ``tool_use_id`` for tools, ``prompt.id`` for
user prompts.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from pulse.mapping.attrs import as_dict, as_json, get_int, get_str
from pulse.mapping.content import clean_output_text, compact, part_text
from pulse.mapping.finish import finish_reason
from pulse.mapping.otlp.ids import key_uuid, otel_uuid
from pulse.mapping.otlp.items import Item
from pulse.mapping.spans import make_span
from pulse.records import SpanRecord

# Standard attributes on every Claude Code event (§5.2): context, not event payload.
_STANDARD = {
    "session.id", "user.id", "user.account_uuid", "user.account_id", "user.email",
    "organization.id", "terminal.type", "prompt.id", "event.name", "event.timestamp",
    "event.sequence", "app.version", "app.entrypoint", "message.uuid", "client_request_id",
    "workspace.host_paths", "workflow.run_id", "workflow.name",
}
_BEDROCK = re.compile(r"^(?:[a-z]{2,4}\.)?anthropic\.|-v\d+(?::\d+)?$")


def cc_provider(model: str | None) -> tuple[str, str | None]:
    """(provider, model_family): Claude Code never states it (§5.4) — infer from the model id
    (§11: ``us.anthropic.claude-…``/``anthropic.claude-…-v1:0`` Bedrock, ``…@2025…`` Vertex)."""
    if model and _BEDROCK.search(model):
        return "aws.bedrock", "anthropic"
    if model and "@" in model:
        return "gcp.vertex_ai", "anthropic"
    return "anthropic", None


def session_of(item: Item) -> tuple[str, bool]:
    found = get_str(item.attrs, "session.id") or get_str(item.resource, "session.id")
    if found:
        return found[:256], False
    return item.trace_id or "unknown", True


def request_key(a: dict[str, Any]) -> str | None:
    rid = get_str(a, "request_id")
    if rid:
        return f"request/{rid}"
    crid = get_str(a, "client_request_id")
    return f"client_request/{crid}" if crid else None


def request_trace_id(item: Item) -> UUID:
    """Trace id shared by ``api_request``/``api_error`` logs and ``claude_code.llm_request``."""
    key = request_key(item.attrs)
    if key:
        return key_uuid("claude_code", key)
    if item.trace_id and item.span_id and not item.is_log:
        return otel_uuid(item.trace_id, item.span_id)
    seq = get_str(item.attrs, "event.sequence") or str(item.start_ns)
    return key_uuid("claude_code", "event", session_of(item)[0], seq, item.name)


def tool_span_id(tool_use_id: str) -> UUID:
    return key_uuid("claude_code", "tool", tool_use_id)


def prompt_span_id(prompt_id: str) -> UUID:
    return key_uuid("claude_code", "prompt", prompt_id)


def event_metadata(item: Item) -> dict[str, Any]:
    """Context metadata for any Claude Code record (§10.1/§10.2 metadata rows)."""
    a, r = item.attrs, item.resource
    return compact(
        {
            "source": "claude_code",
            "service_version": get_str(r, "service.version"),
            "prompt_id": get_str(a, "prompt.id"),
            "event_sequence": get_int(a, "event.sequence"),
            "user_id": get_str(a, "user.id"),
            "user_email": get_str(a, "user.email"),
            "user_account_uuid": get_str(a, "user.account_uuid"),
            "organization_id": get_str(a, "organization.id"),
            "terminal_type": get_str(a, "terminal.type"),
            "client_request_id": get_str(a, "client_request_id"),
            "query_source": get_str(a, "query_source"),
            "speed": get_str(a, "speed"),
            "effort": get_str(a, "effort"),
            "agent_name": get_str(a, "agent.name"),
            "skill_name": get_str(a, "skill.name"),
            "plugin_name": get_str(a, "plugin.name"),
            "mcp_server_name": get_str(a, "mcp_server.name"),
            "mcp_tool_name": get_str(a, "mcp_tool.name"),
            "workspace_host_paths": as_json(a.get("workspace.host_paths")),
            "resource": {k: v for k, v in r.items() if k not in ("service.name",)} or None,
        }
    )


def notification_span(item: Item, name: str) -> SpanRecord:
    """Any other Claude Code event -> ``notification`` span (event_type = unprefixed name)."""
    a = item.attrs
    seq = get_str(a, "event.sequence") or str(item.start_ns)
    session = session_of(item)[0]
    prompt = get_str(a, "prompt.id")
    payload = {k: as_json(v) for k, v in a.items() if k not in _STANDARD}
    return make_span(
        item=item,
        span_id=key_uuid("claude_code", "event", session, seq, name),
        parent_span_id=prompt_span_id(prompt) if prompt else None,
        session_id=session,
        source="claude_code",
        kind="notification",
        event_type=name or "event",
        status="error" if name in ("api_retries_exhausted", "internal_error") else "success",
        model=get_str(a, "model"),
        metadata={**event_metadata(item), **compact({"attributes": payload})},
    )


class TraceParts:
    """An ``api_request``/``api_error`` event plus what later events add to it."""

    def __init__(self, item: Item, name: str) -> None:
        self.item, self.name = item, name
        self.key = request_trace_id(item)
        self.request_id = get_str(item.attrs, "request_id")
        duration = get_int(item.attrs, "duration_ms")
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
