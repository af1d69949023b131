"""Build :class:`SpanRecord` rows from OTel spans classified as agent activity (tools, agent runs,
sessions, notifications), for every family except Claude Code's tool spans.

Tool and agent fields are read along the registry's chains: every family's primary names, then
the values some families keep only on spans of a given kind (Traceloop entities), then fallback
and last-resort names (for a tool's name: the span name, ``execute_tool {name}``). Non-tool spans
keep generic input/output values in metadata rather than in ``tool_input``/``tool_response``;
agent spans that carry usage keep it as ``metadata.rolled_up_usage`` (never a trace: the
aggregate guard in :mod:`pulse.mapping.classify`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulse.mapping.assemble import make_span
from pulse.mapping.attrs import get_json, get_str
from pulse.mapping.content import compact
from pulse.mapping.families import registry as chains
from pulse.mapping.families.base import Decision, Field
from pulse.mapping.families.generic import common_metadata, error_info
from pulse.mapping.fields import session_id, usage_from_attrs
from pulse.mapping.otlp.ids import otel_uuid
from pulse.mapping.otlp.items import Item
from pulse.records import SpanRecord


def build_span(item: Item, decision: Decision, by_span: Mapping[str, Item]) -> SpanRecord:
    """One SpanRecord from an OTel span (ids derived from the OTel ids)."""
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
        tool_use_id=get_str(a, *chains.TOOL_ID_KEYS) if tool else None,
        tool_name=_tool_name(item) if tool else None,
        tool_input=_tool_value(a, Field.TOOL_INPUT, chains.TOOL_INPUT_KEYS) if tool else None,
        tool_response=_tool_value(a, Field.TOOL_OUTPUT, chains.TOOL_OUTPUT_KEYS) if tool else None,
        error=error,
        model=get_str(a, *chains.MODEL_KEYS),
        agent_name=_agent_name(item),
        metadata=metadata,
    )


def _conditional(a: Mapping[str, Any], field: Field) -> Any:
    for hook in chains.CONDITIONAL:
        value = hook(a, field)
        if value is not None:
            return value
    return None


def _tool_name(item: Item) -> str | None:
    a = item.attrs
    name = get_str(a, *chains.TOOL_NAME_KEYS)
    if name is None:
        name = _conditional(a, Field.TOOL_NAME)
    if name is None:
        prefix = next((p for p in chains.TOOL_SPAN_PREFIXES if item.name.startswith(p)), None)
        name = item.name[len(prefix):] if prefix else None
    return name or None


def _tool_value(a: Mapping[str, Any], field: Field, keys: tuple[str, ...]) -> Any:
    value = get_json(a, *keys)
    return _conditional(a, field) if value is None else value


def _agent_name(item: Item) -> str | None:
    a = item.attrs
    name = get_str(a, *chains.AGENT_NAME_KEYS)
    if name is None:
        name = _conditional(a, Field.AGENT_NAME)
    return name or get_str(a, *chains.AGENT_NAME_FALLBACK_KEYS)


def _rolled_up(a: Mapping[str, Any]) -> dict[str, int] | None:
    usage = usage_from_attrs(a)
    if not usage.known:
        return None
    return compact({"input_tokens": usage.input, "output_tokens": usage.output,
                    **usage.metadata()})


def _io_metadata(a: Mapping[str, Any]) -> dict[str, Any]:
    """Generic inputs/outputs of non-tool spans, from every family that has them."""
    out: dict[str, Any] = {}
    for hook in chains.IO_METADATA:
        out.update(hook(a))
    return compact(out)
