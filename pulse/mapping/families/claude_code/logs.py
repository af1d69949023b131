"""Claude Code log events -> traces and spans.

Scope ``com.anthropic.claude_code.events``; body ``claude_code.<event>``, attribute ``event.name``
unprefixed; most numbers arrive as strings. ``api_request``/``api_error`` become traces (body,
refusal and assistant-response events are merged into them within one export); tool decision and
result events merge into ONE tool_use span keyed by ``tool_use_id`` - the same id the beta trace
span ``claude_code.tool`` gets (:mod:`.spans`), so either half, in any export, lands on the same
row id. Trace ids derive from ``request_id`` (else ``client_request_id``) for the same reason:
the beta span ``claude_code.llm_request`` of the same call lands on the same trace. Tokens are
Anthropic-native (input excludes the cache); ``cost_usd`` is the client's list-price estimate.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any
from uuid import UUID

from pulse.mapping.assemble import assemble_trace, make_span
from pulse.mapping.attrs import as_bool, as_dict, as_json, get_decimal, get_float, get_int, get_str
from pulse.mapping.content import clean_output_text, compact
from pulse.mapping.cost import NOT_REPORTED, Reported, to_cents
from pulse.mapping.families.claude_code.api_calls import TraceParts
from pulse.mapping.families.claude_code.identity import (
    cc_provider,
    event_metadata,
    prompt_span_id,
    request_trace_id,
    session_of,
    tool_span_id,
)
from pulse.mapping.merge import OWN_LATENCY
from pulse.mapping.otlp.ids import key_uuid
from pulse.mapping.otlp.items import Item
from pulse.mapping.timestamps import duration_ms
from pulse.mapping.usage import make_usage
from pulse.records import SpanRecord, TraceRecord

_MERGED = ("api_request_body", "api_response_body", "api_refusal", "assistant_response")
# Standard attributes on every Claude Code event: context, not event payload.
_STANDARD = {
    "session.id", "user.id", "user.account_uuid", "user.account_id", "user.email",
    "organization.id", "terminal.type", "prompt.id", "event.name", "event.timestamp",
    "event.sequence", "app.version", "app.entrypoint", "message.uuid", "client_request_id",
    "workspace.host_paths", "workflow.run_id", "workflow.name",
}


def event_name(item: Item) -> str:
    body = item.body if isinstance(item.body, str) else ""
    name = item.name or body
    return name.removeprefix("claude_code.")


def map_claude_code_logs(items: list[Item]) -> tuple[list[TraceRecord], list[SpanRecord], int]:
    """All Claude Code events of one export -> (traces, spans, dropped count)."""
    by_name: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_name[event_name(item)].append(item)
    parts = {}
    for item in by_name["api_request"] + by_name["api_error"]:
        trace_parts = TraceParts(item, event_name(item))
        parts[trace_parts.key] = trace_parts
    dropped = _merge_into_traces(by_name, list(parts.values()))
    traces = [_build_trace(p) for p in parts.values()]
    spans = _tool_spans(by_name["tool_decision"], by_name["tool_result"], items)
    for item in by_name["user_prompt"]:
        spans.append(_user_prompt_span(item))
    for item in by_name["assistant_response"]:
        spans.append(_response_span(item))
    for item in by_name["api_refusal"]:
        spans.append(notification_span(item, "api_refusal"))
    for item in by_name["subagent_completed"]:
        spans.append(_subagent_span(item))
    handled = {"api_request", "api_error", "tool_decision", "tool_result", "user_prompt",
               "subagent_completed", *_MERGED}
    for name, group in by_name.items():
        if name not in handled:
            spans.extend(notification_span(item, name) for item in group)
    return traces, spans, dropped


def _merge_into_traces(by_name: dict[str, list[Item]], parts: list[TraceParts]) -> int:
    """Join body/refusal/response events to their api_request: response bodies, refusals and
    assistant responses by ``request_id``; a request body to the earliest unfilled request of
    the same turn (session, prompt, query source) that ended after it was sent."""
    by_request = {p.request_id: p for p in parts if p.request_id}
    dropped = 0
    for item in by_name["api_response_body"]:
        target = by_request.get(get_str(item.attrs, "request_id") or "")
        dropped += _attach(target, "response_body", item)
    for item in sorted(by_name["api_request_body"], key=lambda i: i.start_ns):
        target = next((p for p in sorted(parts, key=lambda p: p.item.end_ns)
                       if p.request_body is None and p.same_turn(item)
                       and p.item.end_ns >= item.start_ns), None)
        dropped += _attach(target, "request_body", item)
    for item in by_name["api_refusal"] + by_name["assistant_response"]:
        target = by_request.get(get_str(item.attrs, "request_id") or "")
        if target is not None:
            target.merge_event(event_name(item), item)
    return dropped


def _attach(target: TraceParts | None, slot: str, item: Item) -> int:
    """1 (dropped) when the api_request is not in this export: bodies alone are no record."""
    if target is None:
        return 1
    target.set_body(slot, item)
    return 0


def _build_trace(p: TraceParts) -> TraceRecord:
    a = p.item.attrs
    model = get_str(a, "model") or "unknown"
    provider, model_family = cc_provider(model)
    error = p.error()
    usage = make_usage(
        0 if error else get_int(a, "input_tokens") or 0,
        0 if error else get_int(a, "output_tokens") or 0,
        cache_read=None if error else get_int(a, "cache_read_tokens"),
        cache_creation=None if error else get_int(a, "cache_creation_tokens"),
        cache_excluded=True,  # Anthropic-native: input excludes the cache
    )
    text, redacted = clean_output_text(p.output_text())
    metadata = {
        **event_metadata(p.item),
        **usage.metadata(),
        **compact({"model_family": model_family, "content_format": p.content_format(),
                   "redacted": True if redacted or p.redacted else None,
                   "message_id": p.message_id(), "refusal": p.refusal,
                   "ttft_ms": None if error else get_float(a, "ttft_ms")}),
    }
    return assemble_trace(
        trace_id=p.key,
        item=p.item,
        start_ns=p.start_ns,
        provider=provider,
        model_requested=model,
        model_used=None if error else model,  # a failed call names no answering model
        provider_request_id=p.request_id,
        request_body=p.request_body,
        response_body=p.response_body,
        usage=usage,
        output_text=text,
        finish_reason=p.finish()[0],
        error=error,
        reported=(Decimal(0), "computed") if error else _reported_cost(a),
        latency_ms=p.duration_ms,
        assembly=OWN_LATENCY,  # its duration_ms wins over the beta span's (record assembly)
        session_id=session_of(p.item)[0],
        metadata={**metadata, **compact({"finish_reason_raw": p.finish()[1]})},
    )


def _reported_cost(a: dict[str, Any]) -> Reported:
    """Claude Code's client-side list-price estimate: ``cost_usd`` x100 (more digits than
    ``cost_usd_micros``), else micros / 10^4. Stored with cost_source ``client``."""
    usd = get_decimal(a, "cost_usd")
    cents = to_cents(usd * 100) if usd is not None else None
    if cents is None:
        micros = get_decimal(a, "cost_usd_micros")
        cents = to_cents(micros / 10_000) if micros is not None else None
    return (cents, "client") if cents is not None else NOT_REPORTED


def _tool_spans(decisions: list[Item], results: list[Item], all_items: list[Item]
                ) -> list[SpanRecord]:
    """tool_decision + tool_result of the same ``tool_use_id`` -> one tool_use span."""
    groups: dict[str, dict[str, Item]] = defaultdict(dict)
    for item in decisions + results:
        tool_id = get_str(item.attrs, "tool_use_id") or _event_tool_id(item)
        groups[tool_id].setdefault(event_name(item), item)
    requests = sorted((i for i in all_items if event_name(i) == "api_request"),
                      key=lambda i: i.start_ns)
    return [_tool_span(tool_id, g.get("tool_decision"), g.get("tool_result"), requests)
            for tool_id, g in groups.items()]


def _event_tool_id(item: Item) -> str:
    """A tool event without ``tool_use_id``: its own key from what a re-send repeats (session,
    prompt, event sequence, else the event time), so the span id is the same every time."""
    a = item.attrs
    sequence = get_str(a, "event.sequence") or str(item.start_ns)
    return ":".join(("event", session_of(item)[0] or "", get_str(a, "prompt.id") or "",
                     sequence, event_name(item)))


def _tool_span(tool_id: str, decision: Item | None, result: Item | None,
               requests: list[Item]) -> SpanRecord:
    main = result or decision
    assert main is not None
    a = {**(decision.attrs if decision else {}), **(result.attrs if result else {})}
    duration = duration_ms(get_int(result.attrs, "duration_ms")) if result else None
    start = main.start_ns - (duration or 0) * 1_000_000 if result else main.start_ns
    decision_value = get_str(decision.attrs, "decision") if decision else None
    rejected = (decision_value or "").lower() in ("reject", "denied", "abort")
    failed = result is not None and as_bool(result.attrs.get("success")) is False
    params = as_dict(a.get("tool_parameters")) or {}
    metadata = {
        **event_metadata(main),
        **compact({
            "decision": decision_value or get_str(a, "decision_type"),
            "decision_source": get_str(decision.attrs, "source") if decision else
            get_str(a, "decision_source"),
            "tool_source": get_str(a, "tool_source"),
            "tool_input_size_bytes": get_int(a, "tool_input_size_bytes"),
            "tool_result_size_bytes": get_int(a, "tool_result_size_bytes"),
            "mcp_server_scope": get_str(a, "mcp_server_scope"),
            "error_type": get_str(a, "error_type"),
            "events": [n for n, i in (("tool_decision", decision), ("tool_result", result)) if i],
        }),
    }
    return make_span(
        item=main,
        start_ns=max(start, 0) or main.start_ns,
        span_id=tool_span_id(tool_id),
        parent_span_id=_prompt_parent(main),
        session_id=session_of(main)[0],
        source="claude_code",
        kind="tool_use",
        event_type="tool_result" if result else "tool_decision",
        status="error" if failed or rejected else "success",
        duration_ms=float(duration) if duration is not None else None,
        tool_use_id=get_str(a, "tool_use_id"),
        tool_name=get_str(a, "tool_name") or _mcp_name(params),
        tool_input=as_json(a.get("tool_input")) if a.get("tool_input") else (params or None),
        error=(get_str(a, "error") or get_str(a, "error_type") or "error") if failed else None,
        model=_model_before(main, requests),
        metadata=metadata,
    )


def _mcp_name(params: dict[str, Any]) -> str | None:
    server, tool = get_str(params, "mcp_server_name"), get_str(params, "mcp_tool_name")
    return f"mcp__{server}__{tool}" if server and tool else None


def _model_before(item: Item, requests: list[Item]) -> str | None:
    """Model of the latest api_request before ``item`` in the same prompt."""
    prompt = get_str(item.attrs, "prompt.id")
    model = None
    for req in requests:
        if req.start_ns <= item.start_ns and get_str(req.attrs, "prompt.id") == prompt:
            model = get_str(req.attrs, "model") or model
    return model


def _prompt_parent(item: Item) -> UUID | None:
    """Log-derived spans hang under the user_prompt span of their ``prompt.id``."""
    prompt = get_str(item.attrs, "prompt.id")
    return prompt_span_id(prompt) if prompt else None


def _user_prompt_span(item: Item) -> SpanRecord:
    a = item.attrs
    prompt = get_str(a, "prompt.id")
    text, redacted = clean_output_text(get_str(a, "prompt"))
    return make_span(
        item=item,
        span_id=prompt_span_id(prompt) if prompt else key_uuid(*_event_key(item)),
        parent_span_id=None,
        session_id=session_of(item)[0],
        source="claude_code",
        kind="user_prompt",
        event_type="user_prompt",
        status="success",
        metadata={**event_metadata(item), **compact({
            "prompt": text, "prompt_length": get_int(a, "prompt_length"),
            "redacted": True if redacted else None,
            "command_name": get_str(a, "command_name"),
            "command_source": get_str(a, "command_source")})},
    )


def _response_span(item: Item) -> SpanRecord:
    a = item.attrs
    text, redacted = clean_output_text(get_str(a, "response"))
    return make_span(
        item=item,
        span_id=key_uuid(*_event_key(item)),
        parent_span_id=_prompt_parent(item),
        session_id=session_of(item)[0],
        source="claude_code",
        kind="llm_response",
        event_type="assistant_response",
        status="success",
        model=get_str(a, "model"),
        metadata={**event_metadata(item), **compact({
            "response": text, "response_length": get_int(a, "response_length"),
            "request_id": get_str(a, "request_id"), "redacted": True if redacted else None,
            "trace_id": str(request_trace_id(item)) if get_str(a, "request_id") else None})},
    )


def _subagent_span(item: Item) -> SpanRecord:
    a = item.attrs
    duration = duration_ms(get_int(a, "duration_ms"))
    return make_span(
        item=item,
        start_ns=max(item.start_ns - (duration or 0) * 1_000_000, 1),
        span_id=key_uuid(*_event_key(item)),
        parent_span_id=_prompt_parent(item),
        session_id=session_of(item)[0],
        source="claude_code",
        kind="agent_run",
        event_type="subagent_completed",
        status="success",
        duration_ms=float(duration) if duration is not None else None,
        model=get_str(a, "final_model", "model"),
        agent_name=get_str(a, "agent_type", "agent.name"),
        metadata=event_metadata(item),
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


def _event_key(item: Item) -> tuple[str, ...]:
    """Fallback id of an event: (session, ``event.sequence`` or its time, event name)."""
    seq = get_str(item.attrs, "event.sequence") or str(item.start_ns)
    return ("claude_code", "event", session_of(item)[0], seq, event_name(item))
