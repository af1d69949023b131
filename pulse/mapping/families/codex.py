"""OpenAI Codex CLI: the family declaration, and its log events -> traces and spans.

Recognised by a ``codex*`` service (spans) or an ``event.name`` starting ``codex.`` (logs).

``event.name`` carries the full prefixed name (``codex.sse_event``). A completed response
(``sse_event``/``websocket_event`` with ``event.kind=response.completed``) is the trace; the
preceding ``api_request``/``websocket_request`` of the same ``conversation.id`` gives latency and
status. A failed request with no completion is an error trace of its own. Tokens follow OpenAI
semantics (cached part of input, reasoning part of output): the cache is added only if the input
is smaller than it (:func:`~pulse.mapping.usage.make_usage`). Codex reports no cost (computed)
and no response id. Tool decision/result events merge by ``call_id`` into one tool_use span.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

from pulse.mapping.assemble import assemble_trace, make_span
from pulse.mapping.attrs import as_bool, as_json, get_int, get_str
from pulse.mapping.content import compact
from pulse.mapping.cost import NOT_REPORTED
from pulse.mapping.families.base import Family, Field, keys
from pulse.mapping.otlp.ids import key_uuid
from pulse.mapping.otlp.items import Item
from pulse.mapping.providers import normalize_provider
from pulse.mapping.timestamps import duration_ms
from pulse.mapping.usage import make_usage
from pulse.records import SpanRecord, TraceRecord

_COMPLETED = "response.completed"
_REQUESTS = ("api_request", "websocket_request")
_RESPONSES = ("sse_event", "websocket_event")
_DENIED = ("denied", "abort", "reject")


def detect(item: Item) -> bool:
    return (item.service_name or "").lower().startswith("codex")


def detect_log(item: Item) -> bool:
    return (item.name or "").startswith("codex.")


CODEX = Family(
    name="codex",
    detect=detect,
    detect_log=detect_log,
    fields={
        Field.SESSION: keys(fallback=("conversation.id",)),
        Field.TOOL_ID: keys("call_id"),
    },
)


def _name(item: Item) -> str:
    return item.name.removeprefix("codex.")


def _conv(item: Item) -> str:
    return get_str(item.attrs, "conversation.id") or get_str(item.resource, "conversation.id") \
        or item.trace_id or "unknown"


def map_codex_logs(items: list[Item]) -> tuple[list[TraceRecord], list[SpanRecord], int]:
    """All Codex events of one export -> (traces, spans, dropped count)."""
    traces: list[TraceRecord] = []
    spans: list[SpanRecord] = []
    providers: dict[str, str] = {}
    pending: dict[str, Item] = {}
    prompts: dict[str, UUID] = {}
    tools: dict[str, list[Item]] = defaultdict(list)
    unused = 0  # events that become no record (startup phases, stream deltas...): counted
    for item in sorted(items, key=lambda i: i.start_ns):
        name, conv = _name(item), _conv(item)
        if name == "conversation_starts":
            providers[conv] = get_str(item.attrs, "provider_name") or "openai"
            spans.append(_simple_span(item, "session", key_uuid("codex", "session", conv), None))
        elif name == "user_prompt":
            prompts[conv] = key_uuid(*_event_key(item))
            spans.append(_simple_span(item, "user_prompt", prompts[conv],
                                      key_uuid("codex", "session", conv)))
        elif name in _REQUESTS:
            if conv in pending and _failed(pending[conv]):
                traces.append(_trace(pending.pop(conv), None, providers))
            pending[conv] = item
        elif name in _RESPONSES and get_str(item.attrs, "event.kind") == _COMPLETED:
            traces.append(_trace(pending.pop(conv, None), item, providers))
        elif name in ("tool_decision", "tool_result"):
            tools[get_str(item.attrs, "call_id") or f"event:{item.start_ns}"].append(item)
        else:
            unused += 1
    traces += [_trace(req, None, providers) for req in pending.values() if _failed(req)]
    unused += sum(1 for req in pending.values() if not _failed(req))  # no completion here
    spans += [_tool_span(call_id, group, prompts) for call_id, group in tools.items()]
    return traces, spans, unused


def _failed(item: Item) -> bool:
    code = get_int(item.attrs, "http.response.status_code")
    return (code is not None and code >= 400) or get_str(item.attrs, "error.message") is not None


def _event_key(item: Item) -> tuple[str, ...]:
    seq = get_str(item.attrs, "event.sequence") or str(item.start_ns)
    return ("codex", "event", _conv(item), seq, _name(item))


def _trace(request: Item | None, response: Item | None, providers: dict[str, str]
           ) -> TraceRecord:
    main = response or request
    assert main is not None
    a = {**(request.attrs if request else {}), **(response.attrs if response else {})}
    conv = _conv(main)
    duration = duration_ms(get_int(request.attrs, "duration_ms")) if request else None
    if duration is None:
        duration = duration_ms(get_int(a, "duration_ms")) or 0
    anchor = request or main
    error = None
    if request is not None and _failed(request) or get_str(a, "error.message"):
        error = compact({"message": get_str(a, "error.message") or "request failed",
                         "status_code": get_int(a, "http.response.status_code")})
    usage = make_usage(
        get_int(a, "input_token_count"),
        get_int(a, "output_token_count"),
        cache_read=get_int(a, "cached_token_count"),
        reasoning=get_int(a, "reasoning_token_count"),
    )
    model = get_str(a, "model", "slug") or "unknown"
    raw_provider = providers.get(conv)
    return assemble_trace(
        trace_id=key_uuid(*_event_key(main)),
        item=main,
        start_ns=max(anchor.start_ns - duration * 1_000_000, 1) if request else
        max(main.start_ns - duration * 1_000_000, 1),
        provider=normalize_provider(raw_provider) if raw_provider else "openai",
        model_requested=model,
        model_used=None if error else model,  # a failed call names no answering model
        usage=usage,
        error=error,
        reported=NOT_REPORTED,
        latency_ms=float(duration),
        session_id=conv,
        metadata={**_metadata(main), **usage.metadata(), **compact({
            "provider_raw": raw_provider, "content_format": "none",
            "tool_token_count": get_int(a, "tool_token_count"),
            "attempt": get_int(a, "attempt")})},
    )


def _simple_span(item: Item, kind: str, span_id: UUID, parent: UUID | None) -> SpanRecord:
    a = item.attrs
    payload = {k: as_json(v) for k, v in a.items()
               if k in ("provider_name", "reasoning_effort", "reasoning_summary", "context_window",
                        "approval_policy", "sandbox_policy", "mcp_servers", "prompt_length",
                        "prompt")}
    return make_span(
        item=item, span_id=span_id, parent_span_id=parent, session_id=_conv(item),
        source="codex", kind=kind, event_type=_name(item), status="success",
        model=get_str(a, "model", "slug"), metadata={**_metadata(item), **payload},
    )


def _tool_span(call_id: str, group: list[Item], prompts: dict[str, UUID]) -> SpanRecord:
    decision = next((i for i in group if _name(i) == "tool_decision"), None)
    result = next((i for i in group if _name(i) == "tool_result"), None)
    main = result or decision or group[0]
    a = {**(decision.attrs if decision else {}), **(result.attrs if result else {})}
    duration = duration_ms(get_int(result.attrs, "duration_ms")) if result else None
    verdict = get_str(decision.attrs, "decision") if decision else None
    denied = (verdict or "").lower() in _DENIED
    failed = result is not None and as_bool(result.attrs.get("success")) is False
    output = as_json(a.get("output"))
    return make_span(
        item=main,
        start_ns=max(main.start_ns - (duration or 0) * 1_000_000, 1),
        span_id=key_uuid("codex", "tool", call_id),
        parent_span_id=prompts.get(_conv(main)),
        session_id=_conv(main),
        source="codex",
        kind="tool_use",
        event_type="tool_result" if result else "tool_decision",
        status="error" if denied or failed else "success",
        duration_ms=float(duration) if duration is not None else None,
        tool_use_id=get_str(a, "call_id"),
        tool_name=get_str(a, "tool_name"),
        tool_input=as_json(a.get("arguments")),
        tool_response=output,
        error=(output if output is not None else "tool failed") if failed else None,
        model=get_str(a, "model", "slug"),
        metadata={**_metadata(main), **compact({
            "decision": verdict, "decision_source": get_str(a, "source")})},
    )


def _metadata(item: Item) -> dict[str, Any]:
    a, r = item.attrs, item.resource
    return compact({
        "source": "codex",
        "service_name": item.service_name,
        "app_version": get_str(a, "app.version") or get_str(r, "service.version"),
        "conversation_id": get_str(a, "conversation.id"),
        "auth_mode": get_str(a, "auth_mode"),
        "user_account_id": get_str(a, "user.account_id"),
        "user_email": get_str(a, "user.email"),
        "terminal_type": get_str(a, "terminal.type"),
        "event_sequence": get_int(a, "event.sequence"),
    })
