"""Claude Code beta trace spans -> traces and spans.

``claude_code.llm_request`` -> trace, with the SAME id as the ``api_request`` log event
(``request_id``, else ``client_request_id``) so either can arrive first without duplicating.
``claude_code.tool`` -> tool_use span with the same id as the tool_decision/tool_result log
events (``tool_use_id``); its children ``tool.blocked_on_user`` / ``tool.execution`` are folded
into it (metadata.wait_ms / exec_ms, status). ``interaction`` -> agent_run, ``hook`` ->
notification. Token attributes use non-standard Anthropic-native names (input excludes the
cache). ``gen_ai.system`` is always "anthropic" here, so the provider comes from the model id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pulse.mapping.assemble import assemble_trace, make_span
from pulse.mapping.attrs import as_bool, as_json, get_float, get_int, get_str
from pulse.mapping.content import compact
from pulse.mapping.families.base import FOLD, Decision
from pulse.mapping.families.claude_code.identity import (
    cc_provider,
    event_metadata,
    request_trace_id,
    session_of,
    tool_span_id,
)
from pulse.mapping.families.generic import error_info
from pulse.mapping.finish import finish_reason
from pulse.mapping.jsonsafe import clean_json
from pulse.mapping.otlp.ids import otel_uuid
from pulse.mapping.otlp.items import Item
from pulse.mapping.span_builder import build_span as build_generic_span
from pulse.mapping.timestamps import duration_ms
from pulse.mapping.usage import make_usage
from pulse.records import SpanRecord, TraceRecord

Folds = dict[tuple[str | None, str], list[Item]]


def collect_folds(items: list[Item], decisions: list[Decision]) -> Folds:
    """Children to fold, keyed by (trace id, parent span id)."""
    folds: Folds = {}
    for item, decision in zip(items, decisions, strict=True):
        if decision.target == FOLD and item.parent_id:
            folds.setdefault((item.trace_id, item.parent_id), []).append(item)
    return folds


def orphan_folds(items: list[Item], decisions: list[Decision], folds: Folds) -> int:
    """Fold-only children whose tool span is not in this export: counted as dropped."""
    present = {(i.trace_id, i.span_id) for i in items}
    return sum(
        1 for item, d in zip(items, decisions, strict=True)
        if d.target == FOLD and (item.trace_id, item.parent_id) not in present
    )


def build_llm_request(item: Item, by_span: Mapping[str, Item]) -> TraceRecord:
    a = item.merged
    model = get_str(a, "gen_ai.request.model", "model") or "unknown"
    provider, family = cc_provider(model)
    usage = make_usage(
        get_int(a, "input_tokens", "gen_ai.usage.input_tokens"),
        get_int(a, "output_tokens", "gen_ai.usage.output_tokens"),
        cache_read=get_int(a, "cache_read_tokens"),
        cache_creation=get_int(a, "cache_creation_tokens"),
        cache_excluded=True,
    )
    finish, raw = finish_reason(get_str(a, "stop_reason") or as_json(
        a.get("gen_ai.response.finish_reasons")))
    error = _error(item)
    return assemble_trace(
        trace_id=request_trace_id(item),
        item=item,
        provider=provider,
        model_requested=model,
        model_used=None if error else model,  # a failed call names no answering model
        provider_request_id=get_str(a, "request_id", "gen_ai.response.id"),
        usage=usage,
        finish_reason=finish,
        error=error,
        reported=(None, None),
        latency_ms=item.duration_ms or float(duration_ms(get_int(a, "duration_ms")) or 0),
        session_id=session_of(item)[0],
        metadata={**event_metadata(item), **usage.metadata(), **compact({
            "model_family": family, "finish_reason_raw": raw, "content_format": "none",
            "ttft_ms": get_float(a, "ttft_ms"), "attempt": get_int(a, "attempt"),
            "llm_request_context": get_str(a, "llm_request.context"),
            "agent_id": get_str(a, "agent_id"), "parent_agent_id": get_str(a, "parent_agent_id"),
            "has_tool_call": as_bool(a.get("response.has_tool_call")),
            "session_inferred": True if session_of(item)[1] else None})},
    )


def _error(item: Item) -> dict[str, Any] | None:
    a = item.attrs
    if item.status_code != 2 and as_bool(a.get("success")) is not False:
        return None
    code = get_int(a, "status_code")
    text = get_str(a, "error") or item.status_message or "error"
    return compact({"message": f"{code} {text}" if code else text, "type": text,
                    "status_code": code, "attempt": get_int(a, "attempt")})


def build_span(item: Item, decision: Decision, by_span: Mapping[str, Item],
               folds: Folds) -> SpanRecord:
    if decision.kind != "tool_use":
        record = build_generic_span(item, decision, by_span)
        extra = _interaction_metadata(item) if decision.event_type == "interaction" else {}
        duration = record.duration_ms or get_float(item.attrs, "interaction.duration_ms")
        return _with(record, item, extra, duration)
    a = item.attrs
    children = folds.get((item.trace_id, item.span_id or ""), [])
    tool_use_id = get_str(a, "tool_use_id", "gen_ai.tool.call.id")
    status, error, folded = _folded(children)
    if error is None and error_info(item):
        status, error = "error", get_str(a, "error") or item.status_message or "error"
    output = next((ev.attrs for ev in item.events if ev.name == "tool.output"), {})
    return make_span(
        item=item,
        span_id=tool_span_id(tool_use_id) if tool_use_id else otel_uuid(
            item.trace_id or "", item.span_id or ""),
        parent_span_id=otel_uuid(item.trace_id, item.parent_id)
        if item.trace_id and item.parent_id else None,
        session_id=session_of(item)[0],
        source="claude_code",
        kind="tool_use",
        event_type="tool",
        status=status,
        duration_ms=item.duration_ms,
        tool_use_id=tool_use_id,
        tool_name=get_str(a, "tool_name"),
        tool_input=_tool_input(a, output),
        tool_response=as_json(next((output[k] for k in ("output", "tool_output", "content",
                                                         "body") if k in output), None)),
        error=error,
        metadata={**event_metadata(item), **folded, **compact({
            "result_tokens": get_int(a, "result_tokens"), "agent_id": get_str(a, "agent_id")})},
    )


def _folded(children: list[Item]) -> tuple[str, Any, dict[str, Any]]:
    """blocked_on_user -> wait_ms/decision; execution -> exec_ms/status/error."""
    status, error, meta = "success", None, {}
    for child in children:
        a = child.attrs
        span_type = get_str(a, "span.type") or child.name.removeprefix("claude_code.")
        if span_type.endswith("blocked_on_user"):
            meta.update(compact({"wait_ms": child.duration_ms, "decision": get_str(a, "decision"),
                                 "decision_source": get_str(a, "source")}))
            if (get_str(a, "decision") or "").lower() in ("reject", "denied", "abort"):
                status = "error"
        elif span_type.endswith("execution"):
            meta["exec_ms"] = child.duration_ms
            if child.status_code == 2 or as_bool(a.get("success")) is False:
                status, error = "error", get_str(a, "error") or child.status_message or "error"
    return status, error, meta


def _tool_input(a: Mapping[str, Any], output: Mapping[str, Any]) -> Any:
    found = as_json(next((output[k] for k in ("input", "tool_input") if k in output), None))
    if found is not None:
        return found
    return compact({k: a.get(k) for k in ("full_command", "file_path", "skill_name",
                                          "subagent_type")}) or None


def _interaction_metadata(item: Item) -> dict[str, Any]:
    a = item.attrs
    return compact({"user_prompt": get_str(a, "user_prompt"),
                    "user_prompt_length": get_int(a, "user_prompt_length"),
                    "interaction_sequence": get_int(a, "interaction.sequence")})


def _with(record: SpanRecord, item: Item, extra: dict[str, Any],
          duration: float | None) -> SpanRecord:
    return replace(record, duration_ms=duration, session_id=session_of(item)[0] if
                   not session_of(item)[1] else record.session_id,
                   metadata=clean_json({**record.metadata, **event_metadata(item), **extra}))
