"""Build :class:`SpanRecord` rows from spans classified as agent activity (MAPPING.md §10.2).

Tool fields follow the §10.2 chains across conventions (GenAI, Claude Code, OpenInference,
Vercel, pydantic-ai, OpenLLMetry). For non-tool spans, generic input/output values are kept in
metadata rather than in ``tool_input``/``tool_response``. Agent spans that carry usage keep it as
``metadata.rolled_up_usage`` (never counted as a trace: §9 aggregate guard).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulse.mapping.attrs import as_json, get_json, get_str
from pulse.mapping.classify import Decision
from pulse.mapping.common import common_metadata, error_info, session_id
from pulse.mapping.content import compact
from pulse.mapping.jsonsafe import clean_json, clean_str
from pulse.mapping.otlp.ids import otel_uuid
from pulse.mapping.otlp.items import Item
from pulse.mapping.timestamps import from_unix_nanos
from pulse.mapping.traces import otel_identity
from pulse.mapping.usage import usage_from_attrs
from pulse.records import SpanRecord

TOOL_ID_KEYS = ("gen_ai.tool.call.id", "tool_use_id", "tool.id", "ai.toolCall.id", "call_id")
TOOL_NAME_KEYS = ("gen_ai.tool.name", "tool_name", "tool.name", "ai.toolCall.name")
TOOL_INPUT_KEYS = (
    "gen_ai.tool.call.arguments",
    "tool_input",
    "tool_parameters",
    "input.value",
    "ai.toolCall.args",
    "tool_arguments",
)
TOOL_OUTPUT_KEYS = (
    "gen_ai.tool.call.result",
    "output.value",
    "ai.toolCall.result",
    "tool_response",
)
AGENT_NAME_KEYS = (
    "gen_ai.agent.name",
    "agent.name",
    "agent_name",
)
AGENT_FALLBACK_KEYS = ("agent_type", "subagent_type", "gen_ai.workflow.name",
                       "ai.telemetry.functionId")
SPAN_MODEL_KEYS = (
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.model_name",
    "ai.model.id",
    "model",
)


def build_span(item: Item, decision: Decision, by_span: Mapping[str, Item]) -> SpanRecord:
    """One SpanRecord from an OTel span (ids derived from the OTel ids, §10.2)."""
    a = item.merged
    kind = decision.kind or "agent_run"
    session, inferred = session_id(item, by_span)
    tool = kind == "tool_use"
    error = error_info(item)
    metadata = {
        **common_metadata(item),
        **compact(
            {
                "otel_name": item.name,
                "session_inferred": True if inferred else None,
                "rolled_up_usage": _rolled_up(a) if kind in ("agent_run", "session") else None,
                **({} if tool else _io_metadata(a)),
            }
        ),
    }
    return make_span(
        span_id=otel_uuid(item.trace_id or "", item.span_id or ""),
        parent_span_id=otel_uuid(item.trace_id, item.parent_id)
        if item.trace_id and item.parent_id
        else None,
        item=item,
        session_id=session,
        source=decision.family,
        kind=kind,
        event_type=decision.event_type or item.name or kind,
        status="error" if error else "success",
        duration_ms=item.duration_ms,
        tool_use_id=get_str(a, *TOOL_ID_KEYS) if tool else None,
        tool_name=_tool_name(item) if tool else None,
        tool_input=_tool_input(a) if tool else None,
        tool_response=_tool_output(a) if tool else None,
        error=error,
        model=get_str(a, *SPAN_MODEL_KEYS),
        agent_name=_agent_name(item),
        metadata=metadata,
    )


def make_span(*, item: Item, start_ns: int | None = None, **fields: Any) -> SpanRecord:
    """Final assembly shared by every source: JSON cleaning, timestamp, OTel identity."""
    cleaned: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, str):
            cleaned[key] = clean_str(value)
        elif key in ("tool_input", "tool_response", "error", "metadata"):
            cleaned[key] = clean_json(value)
        else:
            cleaned[key] = value
    cleaned["metadata"] = cleaned.get("metadata") or {}
    return SpanRecord(
        timestamp=from_unix_nanos(start_ns if start_ns is not None else item.start_ns),
        otel=otel_identity(item),
        **cleaned,
    )


def _tool_name(item: Item) -> str | None:
    a = item.attrs
    name = get_str(a, *TOOL_NAME_KEYS)
    if name is None and get_str(a, "traceloop.span.kind") == "tool":
        name = get_str(a, "traceloop.entity.name")
    if name is None and item.name.startswith(("execute_tool ", "running tool ")):
        name = item.name.split(" ", 2)[-1] if item.name.startswith("running") else item.name[13:]
    return name or None


def _tool_input(a: Mapping[str, Any]) -> Any:
    value = get_json(a, *TOOL_INPUT_KEYS)
    if value is None and get_str(a, "traceloop.span.kind") == "tool":
        value = get_json(a, "traceloop.entity.input")
    return value


def _tool_output(a: Mapping[str, Any]) -> Any:
    value = get_json(a, *TOOL_OUTPUT_KEYS)
    if value is None and get_str(a, "traceloop.span.kind") == "tool":
        value = get_json(a, "traceloop.entity.output")
    return value


def _agent_name(item: Item) -> str | None:
    a = item.attrs
    name = get_str(a, *AGENT_NAME_KEYS)
    if name is None and get_str(a, "traceloop.span.kind") in ("agent", "workflow"):
        name = get_str(a, "traceloop.entity.name")
    return name or get_str(a, *AGENT_FALLBACK_KEYS)


def _rolled_up(a: Mapping[str, Any]) -> dict[str, int] | None:
    usage = usage_from_attrs(a)
    if not usage.known:
        return None
    return compact({"input_tokens": usage.input, "output_tokens": usage.output,
                    **usage.metadata()})


def _io_metadata(a: Mapping[str, Any]) -> dict[str, Any]:
    """Generic inputs/outputs of non-tool spans (OpenInference, Traceloop entities, Vercel)."""
    return compact(
        {
            "input": as_json(a.get("input.value")),
            "output": as_json(a.get("output.value")),
            "entity_input": as_json(a.get("traceloop.entity.input")),
            "entity_output": as_json(a.get("traceloop.entity.output")),
            "prompt": as_json(a.get("ai.prompt")),
            "response_text": get_str(a, "ai.response.text"),
            "final_result": as_json(a.get("final_result")),
        }
    )
