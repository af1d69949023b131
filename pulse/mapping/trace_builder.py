"""Build :class:`TraceRecord` rows from OTel spans (or GenAI log events) classified as leaf LLM
calls, for every family except Claude Code (whose spans and logs have their own builders).

Each field is read along the registry's chains (:mod:`pulse.mapping.families.registry`): content
from the first family reader that finds each part, model/provider/session/usage by
:mod:`pulse.mapping.fields`, cost by the one cost rule in :mod:`pulse.mapping.assemble`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulse.mapping.assemble import assemble_trace
from pulse.mapping.attrs import as_json, get_str
from pulse.mapping.content import clean_output_text, compact
from pulse.mapping.families import registry as chains
from pulse.mapping.families.generic import common_metadata, error_info
from pulse.mapping.families.otel_genai import request_params
from pulse.mapping.fields import (
    model_requested,
    model_used,
    provider,
    reported_cost,
    session_id,
    ttft_ms,
    usage_from_attrs,
)
from pulse.mapping.finish import finish_reason
from pulse.mapping.otlp.ids import record_uuid
from pulse.mapping.otlp.items import Item
from pulse.records import TraceRecord


@dataclass(slots=True)
class Picked:
    """Content parts chosen across families (the first reader that finds each part)."""

    request: dict[str, Any] | None = None
    request_format: str | None = None
    response: dict[str, Any] | None = None
    output_text: str | None = None
    finish: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def pick_content(item: Item) -> Picked:
    picked = Picked()
    for reader in chains.CONTENT_ORDER:
        found = reader(item)
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


def _finish_raw(a: Mapping[str, Any], picked: Picked) -> Any:
    """Finish reason: the span's own attribute, else the content's, else the last resorts."""
    for key in chains.FINISH_REASON_KEYS:
        raw = as_json(a.get(key))
        if raw:
            return raw
    return picked.finish or get_str(a, *chains.FINISH_REASON_LAST_KEYS)


def _family_metadata(a: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for hook in chains.TRACE_METADATA:
        out.update(hook(a))
    return out


def build_trace(item: Item, family: str, by_span: Mapping[str, Item]) -> TraceRecord:
    """One TraceRecord from a leaf LLM-call span of any OTel convention."""
    a = item.merged
    picked = pick_content(item)
    prov, raw_provider, provider_extra = provider(a)
    requested = model_requested(a, picked.request)
    used = model_used(a, picked.response)
    anthropic = prov == "anthropic" or "claude" in (used or requested or "").lower()
    usage = usage_from_attrs(a, anthropic_native=anthropic)
    finish, finish_raw_text = finish_reason(_finish_raw(a, picked))
    text, redacted = clean_output_text(picked.output_text)
    session, inferred = session_id(item, by_span)
    metadata = {
        **common_metadata(item),
        **_family_metadata(a),
        **provider_extra,
        **compact(
            {
                "source": family,
                "content_format": picked.request_format or "none",
                "provider_raw": raw_provider,
                "finish_reason_raw": finish_raw_text,
                "params": request_params(a),
                "system_fingerprint": get_str(a, *chains.SYSTEM_FINGERPRINT_KEYS),
                "agent_name": get_str(a, *chains.TRACE_AGENT_NAME_KEYS),
                "ttft_ms": ttft_ms(a),
                "operation": get_str(a, *chains.OPERATION_KEYS),
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
        provider_request_id=get_str(a, *chains.RESPONSE_ID_KEYS)
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
