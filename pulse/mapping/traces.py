"""Build :class:`TraceRecord` rows from spans classified as leaf LLM calls (MAPPING.md §10.1).

Content comes from the first convention that has it, in the §10.1 order; tokens, finish reasons
and cost are normalised by ``normalize`` (§12); provider by ``common``/``providers`` (§11).
Claude Code spans and logs build their traces in ``claude_code`` with the same helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from pulse.mapping import genai, openinference, openllmetry, pydantic_ai, vercel_ai
from pulse.mapping.attrs import as_json, get_str
from pulse.mapping.common import (
    common_metadata,
    error_info,
    model_requested,
    model_used,
    provider,
    reported_cost,
    session_id,
    ttft_ms,
)
from pulse.mapping.content import Content, clean_output_text, compact
from pulse.mapping.cost import Reported, trace_cost
from pulse.mapping.finish import finish_reason
from pulse.mapping.jsonsafe import clean_json, clean_str
from pulse.mapping.otlp.ids import record_uuid
from pulse.mapping.otlp.items import Item
from pulse.mapping.timestamps import from_unix_nanos
from pulse.mapping.usage import Usage, usage_from_attrs
from pulse.records import OtelIdentity, TraceRecord

# §10.1 request_body / response_body order across conventions.
CONTENT_ORDER: tuple[Callable[[Item], Content | None], ...] = (
    genai.current_content,
    genai.legacy_content,
    openinference.content,
    openllmetry.content,
    vercel_ai.content,
    pydantic_ai.content,
    openllmetry.entity_content,
)
EMPTY_REQUEST: dict[str, Any] = {"messages": []}  # request_body is required; nothing captured


@dataclass(slots=True)
class Picked:
    """Content fields chosen across conventions (first convention that has each field)."""

    request: dict[str, Any] | None = None
    request_format: str | None = None
    response: dict[str, Any] | None = None
    output_text: str | None = None
    finish: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def pick_content(item: Item) -> Picked:
    picked = Picked()
    for extractor in CONTENT_ORDER:
        found = extractor(item)
        if found is None:
            continue
        if picked.request is None and found.request is not None:
            picked.request, picked.request_format = found.request, found.format
        if picked.response is None and found.response is not None:
            picked.response = found.response
            picked.request_format = picked.request_format or found.format
        if picked.output_text is None and found.output_text is not None:
            picked.output_text = found.output_text
        if picked.finish is None and found.finish is not None:
            picked.finish = found.finish
        for key, value in (found.extra or {}).items():
            picked.extra.setdefault(key, value)
    return picked


def otel_identity(item: Item) -> OtelIdentity:
    return OtelIdentity(item.trace_id, item.span_id, item.parent_id, item.service_name)


def build_trace(item: Item, family: str, by_span: Mapping[str, Item]) -> TraceRecord:
    """One TraceRecord from a leaf LLM-call span of any OTel convention."""
    a = item.merged
    picked = pick_content(item)
    prov, raw_provider, provider_extra = provider(a)
    requested = model_requested(a, picked.request)
    used = model_used(a, picked.response) or requested
    anthropic = prov == "anthropic" or "claude" in (used or requested or "").lower()
    usage = usage_from_attrs(a, anthropic_native=anthropic)
    finish_raw = as_json(a.get("gen_ai.response.finish_reasons"))
    if not finish_raw:
        finish_raw = picked.finish or get_str(a, "stop_reason", "llm.response.finish_reason")
    finish, finish_raw_text = finish_reason(finish_raw)
    text, redacted = clean_output_text(picked.output_text)
    session, inferred = session_id(item, by_span)
    metadata = {
        **common_metadata(item),
        **openllmetry.association_metadata(a),
        **vercel_ai.telemetry_metadata(a),
        **provider_extra,
        **compact(
            {
                "source": family,
                "content_format": picked.request_format or "none",
                "provider_raw": raw_provider,
                "finish_reason_raw": finish_raw_text,
                "params": genai.request_params(a),
                "system_fingerprint": get_str(
                    a,
                    "gen_ai.openai.response.system_fingerprint",
                    "openai.response.system_fingerprint",
                ),
                "agent_name": get_str(a, "gen_ai.agent.name"),
                "ttft_ms": ttft_ms(a),
                "operation": get_str(a, "gen_ai.operation.name", "llm.request.type"),
                "session_inferred": True if inferred else None,
                "redacted": True if redacted else None,
            }
        ),
        **usage.metadata(),
    }
    return assemble_trace(
        trace_id=record_uuid(item),
        item=item,
        provider=prov,
        model_requested=requested or used or "unknown",
        model_used=used,
        provider_request_id=get_str(a, "gen_ai.response.id", "ai.response.id")
        or picked.extra.get("provider_request_id"),
        request_body=picked.request,
        response_body=picked.response,
        usage=usage,
        output_text=text,
        finish_reason=finish,
        error=error_info(item),
        reported=reported_cost(a),
        latency_ms=item.duration_ms,
        session_id=session,
        metadata=metadata,
    )


def assemble_trace(
    *,
    trace_id: UUID,
    item: Item,
    provider: str,
    model_requested: str,
    usage: Usage,
    reported: Reported,
    latency_ms: float,
    metadata: dict[str, Any],
    request_body: dict[str, Any] | None = None,
    start_ns: int | None = None,
    **fields: Any,
) -> TraceRecord:
    """Final assembly shared by every source: cost (reported wins, §10.1), cleaning, identity."""
    timestamp = from_unix_nanos(start_ns if start_ns is not None else item.start_ns)
    model = fields.get("model_used") or model_requested
    cost, cost_source = trace_cost(reported, provider, model, usage, timestamp)
    if cost_source:
        metadata = {**metadata, "cost_source": cost_source}
    error = fields.pop("error", None)
    strings = {k: clean_str(v) if isinstance(v, str) else v for k, v in fields.items()}
    return TraceRecord(
        trace_id=trace_id,
        timestamp=timestamp,
        provider=clean_str(provider),
        model_requested=clean_str(model_requested),
        request_body=clean_json(request_body if request_body is not None else EMPTY_REQUEST),
        status="error" if error else "success",
        latency_ms=max(float(latency_ms), 0.0),
        input_tokens=usage.input,
        output_tokens=usage.output,
        error=clean_json(error) if error else None,
        cost_cents=cost,
        metadata=clean_json(metadata),
        otel=otel_identity(item),
        **{k: clean_json(v) if isinstance(v, (dict, list)) else v for k, v in strings.items()},
    )
