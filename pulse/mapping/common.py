"""Field chains shared by traces and spans: session, provider, models, status/error, metadata.

Implements the cross-convention precedence rows of MAPPING.md §10.1/§10.2 that do not belong to a
single convention family (session_id, provider, model_requested/used, status, error, the common
metadata keys). Provider normalisation itself lives in ``providers`` (§11).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulse.mapping.attrs import (
    Attrs,
    as_bool,
    as_dict,
    as_json,
    get_decimal,
    get_float,
    get_json,
    get_str,
)
from pulse.mapping.content import compact
from pulse.mapping.cost import NOT_REPORTED, Reported, to_cents
from pulse.mapping.jsonsafe import clean_str
from pulse.mapping.otlp.items import STATUS_ERROR, Item
from pulse.mapping.providers import normalize_provider, provider_from_host

SESSION_KEYS = (
    "langfuse.session.id",
    "session.id",
    "gen_ai.conversation.id",
    "traceloop.association.properties.session_id",
    "ai.telemetry.metadata.sessionId",
    "langsmith.trace.session_id",
    "conversation.id",
)
EXCEPTION_EVENTS = ("exception", "gen_ai.client.operation.exception")
_MAX_SESSION = 256


def session_id(item: Item, by_span: Mapping[str, Item]) -> tuple[str, bool]:
    """(session, inferred): §10.1 chain -> nearest ancestor -> resource -> OTel trace id."""
    found = get_str(item.attrs, *SESSION_KEYS)
    parent, hops = item.parent_id, 0
    while found is None and parent is not None and hops < 256:
        ancestor = by_span.get(parent)
        if ancestor is None:
            break
        found = get_str(ancestor.attrs, *SESSION_KEYS)
        parent, hops = ancestor.parent_id, hops + 1
    found = found or get_str(item.resource, *SESSION_KEYS)
    if found:
        return clean_str(found)[:_MAX_SESSION], False
    return item.trace_id or "unknown", True


def provider(a: Attrs, default: str | None = None) -> tuple[str, str | None, dict[str, Any]]:
    """(canonical provider, raw value, extra metadata) — §10.1 provider row and §11 rules."""
    raw = get_str(
        a,
        "gen_ai.provider.name",
        "gen_ai.system",
        "llm.provider",
        "ai.model.provider",
        "langsmith.metadata.ls_provider",
        "llm.system",
    )
    host = get_str(a, "server.address")
    host_provider = provider_from_host(host)
    extra: dict[str, Any] = {}
    # llm.provider=azure (+ llm.system=openai) normalises to azure.ai.openai via the alias list
    canonical = (default or host_provider or "unknown") if raw is None else normalize_provider(raw)
    # §11: an OpenAI-protocol client pointed at another known host -> the host's provider.
    if canonical == "openai" and host_provider not in (None, "openai"):
        extra["api_format"] = "openai"
        canonical = host_provider or canonical
    return canonical, raw, extra


def model_requested(a: Attrs, body: Mapping[str, Any] | None = None) -> str | None:
    """§10.1 model_requested chain (invocation parameters count as the request body)."""
    found = get_str(a, "gen_ai.request.model", "llm.request.model_name", "ai.model.id")
    if found:
        return found
    params = as_dict(a.get("llm.invocation_parameters")) or {}
    found = get_str(params, "model") or get_str(
        a, "llm.model_name", "model", "langsmith.metadata.ls_model_name"
    )
    if found is None and body:
        found = get_str(body, "model")
    return found


def model_used(a: Attrs, body: Mapping[str, Any] | None = None) -> str | None:
    """§10.1 model_used chain (without the final ``= model_requested`` fallback)."""
    found = get_str(
        a,
        "langfuse.observation.model.name",
        "gen_ai.response.model",
        "llm.response.model_name",
        "ai.response.model",
        "llm.model_name",
        "llm.response.model",
    )
    if found is None and body:
        found = get_str(body, "model")
    return found or get_str(a, "model")


def error_info(item: Item) -> dict[str, Any] | None:
    """§10.1 status/error rows: status 2, ``error.type``, exception events, ``success=false``."""
    a = item.attrs
    exc = next((ev.attrs for ev in item.events if ev.name in EXCEPTION_EVENTS), {})
    failed = (
        item.status_code == STATUS_ERROR
        or get_str(a, "error.type") is not None
        or bool(exc)
        or as_bool(a.get("success")) is False
    )
    if not failed:
        return None
    return compact(
        {
            "type": get_str(a, "error.type") or get_str(exc, "exception.type"),
            "message": item.status_message or get_str(exc, "exception.message")
            or get_str(a, "error", "error.message"),
            "stacktrace": get_str(exc, "exception.stacktrace"),
        }
    ) or {"message": "error"}


def ttft_ms(a: Attrs) -> float | None:
    value = get_float(a, "ttft_ms", "ai.response.msToFirstChunk")
    if value is None:
        seconds = get_float(a, "gen_ai.response.time_to_first_chunk")
        value = seconds * 1000 if seconds is not None else None
    return value


def common_metadata(item: Item) -> dict[str, Any]:
    """Context worth keeping on every OTel-derived record (§10.1 / §10.2 metadata rows)."""
    a, r = item.attrs, item.resource
    tags = a.get("tag.tags")
    return compact(
        {
            "service_version": get_str(r, "service.version"),
            "scope_name": item.scope_name or None,
            "scope_version": item.scope_version or None,
            "user_id": get_str(a, "user.id", "langfuse.user.id") or get_str(r, "user.id"),
            "user_email": get_str(a, "user.email") or get_str(r, "user.email"),
            "organization_id": get_str(a, "organization.id") or get_str(r, "organization.id"),
            "app_metadata": as_dict(a.get("metadata")),
            "tags": as_json(tags) if tags is not None else None,
            "server_address": get_str(a, "server.address"),
            "end_clamped": True if item.clamped else None,
        }
    )


def reported_cost(attrs: Attrs) -> Reported:
    """Provider/SDK-reported cost (USD attributes) in cents, else NOT_REPORTED."""
    details = as_dict(get_json(attrs, "langfuse.observation.cost_details")) or {}
    usd = get_decimal(details, "total")
    if usd is None:
        usd = get_decimal(attrs, "gen_ai.usage.cost", "llm.cost.total")
    cents = to_cents(usd * 100) if usd is not None else None
    return (cents, "provider") if cents is not None else NOT_REPORTED
