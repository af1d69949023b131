"""Claude Code: log events (stable, ``/v1/logs``) and beta trace spans (``/v1/traces``).

Recognised, for spans, by a ``claude-code*`` service, a ``span.type`` attribute or a
``claude_code.*`` span name; for log records, by the ``com.anthropic.claude_code.events`` scope
or a ``claude_code.*`` body. Both halves map to the same rows (ids in :mod:`.identity`):

* :mod:`.logs` - events -> traces (``api_request`` / ``api_error`` joined with their bodies) and
  spans (tools, prompts, responses, subagents, notifications);
* :mod:`.spans` - ``claude_code.llm_request`` -> trace; ``claude_code.tool`` -> tool span with its
  ``tool.*`` children folded in; ``interaction`` -> agent run; anything else -> notification.

This module declares the family; it imports neither mapper (the registry imports it).
"""

from __future__ import annotations

from pulse.mapping.attrs import get_str
from pulse.mapping.families.base import (
    FOLD,
    SPAN,
    TRACE,
    Decision,
    Family,
    Field,
    ModelCallTest,
    keys,
)
from pulse.mapping.otlp.items import Item

SCOPE = "com.anthropic.claude_code.events"


def detect(item: Item) -> bool:
    service = (item.service_name or "").lower()
    return (
        service.startswith("claude-code")
        or "span.type" in item.attrs
        or item.name.startswith("claude_code.")
    )


def detect_log(item: Item) -> bool:
    """The Claude Code event scope, or a body starting ``claude_code.``."""
    body = item.body if isinstance(item.body, str) else ""
    return item.scope_name == SCOPE or body.startswith("claude_code.")


def classify(item: Item, family: str, _model_call: ModelCallTest) -> Decision | None:
    """Beta spans by ``span.type`` (or name): ``llm_request`` -> trace; ``tool`` -> tool_use;
    ``tool.*`` -> folded into the parent tool span; ``interaction`` -> agent_run; else
    notification."""
    if family != "claude_code" or not (
        "span.type" in item.attrs or item.name.startswith("claude_code.")
    ):
        return None
    span_type = get_str(item.attrs, "span.type") or item.name.removeprefix("claude_code.")
    if span_type == "llm_request":
        return Decision(TRACE, family)
    if span_type == "tool":
        return Decision(SPAN, family, "tool_use", "tool")
    if span_type.startswith("tool."):
        return Decision(FOLD, family)
    if span_type == "interaction":
        return Decision(SPAN, family, "agent_run", "interaction")
    return Decision(SPAN, family, "notification", span_type)


CLAUDE_CODE = Family(
    name="claude_code",
    detect=detect,
    detect_log=detect_log,
    classify=classify,
    fields={
        Field.TTFT_MS: keys("ttft_ms"),
        Field.FINISH_REASON: keys(last=("stop_reason",)),
        Field.TOOL_ID: keys("tool_use_id"),
        Field.TOOL_NAME: keys("tool_name"),
        Field.TOOL_INPUT: keys("tool_input", "tool_parameters"),
        Field.AGENT_NAME: keys(fallback=("agent_type", "subagent_type")),
    },
)
