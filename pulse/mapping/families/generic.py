"""Keys no single convention family owns: Langfuse's explicit overrides, OpenTelemetry's general
attributes, bare generic names, LangSmith's names; plus the generic readers every OTel-derived
record uses (error/status, context metadata).

Registry entries declared here (see the registry for their positions):

* ``LANGFUSE`` - ``langfuse.*`` attributes are explicit choices a user made on a span (its
  observation type, session, model, cost), so they come first everywhere;
* ``OTEL_GENERAL`` - OpenTelemetry's general ``session.id``;
* ``GENERIC`` - the bare ``model`` attribute many SDKs (and Claude Code, Codex) set;
* ``LANGSMITH`` - ``langsmith.*`` names, consulted after everything more specific.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pulse.mapping.attrs import Attrs, as_bool, as_dict, as_json, get_decimal, get_json, get_str
from pulse.mapping.content import compact
from pulse.mapping.families.base import SPAN, TRACE, Decision, Family, Field, ModelCallTest, keys
from pulse.mapping.otlp.items import STATUS_ERROR, Item

EXCEPTION_EVENTS = ("exception", "gen_ai.client.operation.exception")


def langfuse_override(item: Item, family: str, _model_call: ModelCallTest) -> Decision | None:
    """``langfuse.observation.type``: generation/embedding -> trace; tool/event/other -> span."""
    value = get_str(item.attrs, "langfuse.observation.type")
    if value is None:
        return None
    if value.lower() in ("generation", "embedding"):
        return Decision(TRACE, family)
    kind = {"tool": "tool_use", "event": "notification"}.get(value.lower(), "agent_run")
    return Decision(SPAN, family, kind, value.lower())


def langfuse_cost_usd(a: Attrs) -> Decimal | None:
    """``langfuse.observation.cost_details`` (a JSON object) ``total``, in USD."""
    details = as_dict(get_json(a, "langfuse.observation.cost_details")) or {}
    return get_decimal(details, "total")


LANGFUSE = Family(
    name="langfuse",
    classify=langfuse_override,
    fields={
        Field.SESSION: keys("langfuse.session.id"),
        Field.RESPONSE_MODEL: keys("langfuse.observation.model.name"),
        Field.COST_USD: keys(langfuse_cost_usd),
    },
)

OTEL_GENERAL = Family(name="otel_general", fields={Field.SESSION: keys("session.id")})

GENERIC = Family(
    name="generic",
    fields={
        Field.REQUEST_MODEL: keys(fallback=("model",)),
        Field.RESPONSE_MODEL: keys(last=("model",)),  # after the response body's model
        Field.MODEL: keys("model"),
    },
)

LANGSMITH = Family(
    name="langsmith",
    fields={
        Field.SESSION: keys("langsmith.trace.session_id"),
        Field.PROVIDER: keys("langsmith.metadata.ls_provider"),
        Field.REQUEST_MODEL: keys(fallback=("langsmith.metadata.ls_model_name",)),
    },
)


def error_info(item: Item) -> dict[str, Any] | None:
    """Error of an OTel span/log: status ERROR, ``error.type``, an exception event, or
    ``success=false``; None when none of them says the call failed."""
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


def common_metadata(item: Item) -> dict[str, Any]:
    """Context worth keeping on every OTel-derived record: service, scope, user, organisation,
    app metadata and tags (OpenInference ``metadata`` / ``tag.tags``), server address."""
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
