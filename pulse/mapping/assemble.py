"""Final assembly of records, shared by every source (generic OTel spans, Claude Code, Codex):
cost by the one rule, strings and JSON made storable, timestamps, OTel identity.

Knows no convention family and no precedence chain: builders decide the field values, this
module only turns them into a valid :class:`TraceRecord` / :class:`SpanRecord`.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pulse.mapping.cost import Reported, trace_cost
from pulse.mapping.jsonsafe import clean_json, clean_str
from pulse.mapping.otlp.items import Item
from pulse.mapping.timestamps import from_unix_nanos, whole_ms
from pulse.mapping.usage import Usage
from pulse.records import OtelIdentity, SpanRecord, TraceRecord

EMPTY_REQUEST: dict[str, Any] = {"messages": []}  # request_body is required; nothing captured
_SPAN_JSON_FIELDS = ("tool_input", "tool_response", "error", "metadata")


def otel_identity(item: Item) -> OtelIdentity:
    return OtelIdentity(item.trace_id, item.span_id, item.parent_id, item.service_name)


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
    """One TraceRecord: cost by :func:`~pulse.mapping.cost.trace_cost` (``metadata.cost_source``
    says which), every string and JSON value cleaned, status from ``error``."""
    timestamp = from_unix_nanos(start_ns if start_ns is not None else item.start_ns)
    cost = trace_cost(reported, provider, fields.get("model_used"), model_requested, usage,
                      timestamp)
    metadata = {**metadata, **cost.metadata()}
    error = fields.pop("error", None)
    strings = {k: clean_str(v) if isinstance(v, str) else v for k, v in fields.items()}
    return TraceRecord(
        trace_id=trace_id,
        timestamp=timestamp,
        provider=clean_str(provider),
        model_requested=clean_str(model_requested),
        request_body=clean_json(request_body if request_body is not None else EMPTY_REQUEST),
        status="error" if error else "success",
        latency_ms=whole_ms(latency_ms),
        input_tokens=usage.input,
        output_tokens=usage.output,
        error=clean_json(error) if error else None,
        cost_cents=cost.cents,
        metadata=clean_json(metadata),
        otel=otel_identity(item),
        **{k: clean_json(v) if isinstance(v, (dict, list)) else v for k, v in strings.items()},
    )


def make_span(*, item: Item, start_ns: int | None = None, **fields: Any) -> SpanRecord:
    """One SpanRecord: strings and JSON fields cleaned, timestamp, OTel identity."""
    cleaned: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, str):
            cleaned[key] = clean_str(value)
        elif key in _SPAN_JSON_FIELDS:
            cleaned[key] = clean_json(value)
        else:
            cleaned[key] = value
    cleaned["metadata"] = cleaned.get("metadata") or {}
    return SpanRecord(
        timestamp=from_unix_nanos(start_ns if start_ns is not None else item.start_ns),
        otel=otel_identity(item),
        **cleaned,
    )
