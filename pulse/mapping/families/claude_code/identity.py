"""Claude Code identity: stable record ids, session, provider inference, event context metadata.

Shared by the log mapping (:mod:`.logs`) and the beta-trace mapping (:mod:`.spans`) so that both
halves of the same thing land on one row: ``request_id`` (else ``client_request_id``) for LLM
calls, ``tool_use_id`` for tools, ``prompt.id`` for user prompts.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from pulse.mapping.attrs import as_json, get_int, get_str
from pulse.mapping.content import compact
from pulse.mapping.otlp.ids import key_uuid, otel_uuid
from pulse.mapping.otlp.items import Item

_BEDROCK = re.compile(r"^(?:[a-z]{2,4}\.)?anthropic\.|-v\d+(?::\d+)?$")


def cc_provider(model: str | None) -> tuple[str, str | None]:
    """(provider, model_family): Claude Code never states the provider, so infer it from the
    model id (``us.anthropic.claude-…`` / ``anthropic.claude-…-v1:0``: Bedrock; ``…@2025…``:
    Vertex AI; else Anthropic's API)."""
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
    """Context metadata for any Claude Code record (from logs or spans)."""
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
