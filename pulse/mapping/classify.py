"""Classification of spans: LLM call (-> ``traces``) or agent activity (-> ``spans``), §9.

Rules are evaluated in order, first match wins. Only *leaf* model calls become traces: the
aggregate guard (:func:`apply_aggregate_guard`) demotes any would-be trace that has a trace
descendant to ``agent_run`` so tokens are never counted twice (Vercel ``ai.generateText``,
pydantic-ai agent runs, ``invoke_agent`` with summed usage).
Log records are classified by their own modules (Claude Code, Codex, GenAI events).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from pulse.mapping.attrs import as_str, get_str, has_prefix
from pulse.mapping.otlp.items import Item

TRACE, SPAN, DROP, FOLD = "trace", "span", "drop", "fold"

_LLM_OPS = {"chat", "text_completion", "generate_content", "completion", "generate", "embeddings"}
_VERCEL_OUTER = {
    "ai.generateText",
    "ai.streamText",
    "ai.generateObject",
    "ai.streamObject",
    "ai.embed",
    "ai.embedMany",
}
MODEL_KEYS = (
    "gen_ai.request.model",
    "gen_ai.response.model",
    "llm.model_name",
    "ai.model.id",
    "model",
)
_GENAI_PREFIXES = ("gen_ai.", "llm.", "ai.", "openinference.", "traceloop.")


@dataclass(frozen=True, slots=True)
class Decision:
    """Where an item goes: ``target`` trace/span/drop/fold, span ``kind``, convention ``family``."""

    target: str
    family: str
    kind: str | None = None
    event_type: str | None = None
    demoted: bool = False


def family_of(item: Item) -> str:
    """Convention family = Pulse span ``source`` (MAPPING.md "How to read this")."""
    a = item.attrs
    service = (item.service_name or "").lower()
    if service.startswith("claude-code") or "span.type" in a:
        return "claude_code"
    if item.name.startswith("claude_code."):
        return "claude_code"
    if service.startswith("codex"):
        return "codex"
    if item.scope_name == "ai" or "ai.operationId" in a or item.name.startswith("ai."):
        return "vercel_ai"
    if item.scope_name in ("pydantic-ai", "pydantic_ai") or "pydantic_ai.all_messages" in a:
        return "pydantic_ai"
    if "openinference.span.kind" in a:
        return "openinference"
    if _is_openllmetry(a):
        return "openllmetry"
    return "otel_genai"


def _is_openllmetry(a: dict) -> bool:
    return (
        "llm.request.type" in a
        or "llm.usage.total_tokens" in a
        or "gen_ai.is_streaming" in a
        or has_prefix(a, "traceloop.", "gen_ai.prompt.", "gen_ai.completion.")
    )


def classify_span(item: Item, *, keep_generic: bool = False) -> Decision:
    """§9 rules 1 and 4-10 for one span (rules 2-3 are log-only: claude_code.py / codex.py)."""
    family = family_of(item)
    for rule in (_override, _claude_code, _genai_op, _openinference, _openllmetry, _vercel,
                 _pydantic):
        decision = rule(item, family)
        if decision is not None:
            return decision
    return _fallback(item, family, keep_generic)


def _override(item: Item, family: str) -> Decision | None:
    value = get_str(item.attrs, "langfuse.observation.type")
    if value is None:
        return None
    if value.lower() in ("generation", "embedding"):
        return Decision(TRACE, family)
    kind = {"tool": "tool_use", "event": "notification"}.get(value.lower(), "agent_run")
    return Decision(SPAN, family, kind, value.lower())


def _claude_code(item: Item, family: str) -> Decision | None:
    if family != "claude_code" or not (
        "span.type" in item.attrs or item.name.startswith("claude_code.")
    ):
        return None
    span_type = get_str(item.attrs, "span.type") or item.name.removeprefix("claude_code.")
    if span_type == "llm_request":
        return Decision(TRACE, family)
    if span_type == "tool":
        return Decision(SPAN, family, "tool_use", "tool")
    if span_type.startswith("tool."):
        return Decision(FOLD, family)  # folded into the parent tool span (§9 rule 4)
    if span_type == "interaction":
        return Decision(SPAN, family, "agent_run", "interaction")
    return Decision(SPAN, family, "notification", span_type)


def _genai_op(item: Item, family: str) -> Decision | None:
    op = (get_str(item.attrs, "gen_ai.operation.name") or "").lower()
    if not op:
        return None
    if op in _LLM_OPS:
        return Decision(TRACE, family, event_type=op)
    if op in ("execute_tool", "retrieval"):
        return Decision(SPAN, family, "tool_use", op)
    if op in ("invoke_agent", "create_agent"):
        return Decision(SPAN, family, "agent_run", op)
    if op == "invoke_workflow":
        kind = "session" if item.parent_id is None else "agent_run"
        return Decision(SPAN, family, kind, op)
    return None


def _openinference(item: Item, family: str) -> Decision | None:
    kind = (get_str(item.attrs, "openinference.span.kind") or "").upper()
    if not kind:
        return None
    if kind in ("LLM", "EMBEDDING"):
        return Decision(TRACE, family, event_type=kind.lower())
    mapped = {
        "TOOL": "tool_use",
        "RETRIEVER": "tool_use",
        "RERANKER": "tool_use",
        "AGENT": "agent_run",
        "CHAIN": "agent_run",
    }.get(kind, "notification")
    return Decision(SPAN, family, mapped, kind.lower())


def _openllmetry(item: Item, family: str) -> Decision | None:
    request_type = (get_str(item.attrs, "llm.request.type") or "").lower()
    if request_type in ("chat", "completion", "embedding", "rerank"):
        return Decision(TRACE, family, event_type=request_type)
    span_kind = (get_str(item.attrs, "traceloop.span.kind") or "").lower()
    if span_kind == "tool":
        return Decision(SPAN, family, "tool_use", span_kind)
    if span_kind in ("agent", "task", "workflow"):
        root_workflow = span_kind == "workflow" and item.parent_id is None
        return Decision(SPAN, family, "session" if root_workflow else "agent_run", span_kind)
    return None


def _vercel(item: Item, family: str) -> Decision | None:
    if family != "vercel_ai":
        return None
    op = get_str(item.attrs, "ai.operationId") or item.name.split(" ")[0]
    if op.endswith((".doGenerate", ".doStream", ".doEmbed")):
        return Decision(TRACE, family, event_type=op)
    if op == "ai.toolCall":
        return Decision(SPAN, family, "tool_use", op)
    if op in _VERCEL_OUTER:
        return Decision(SPAN, family, "agent_run", op)
    return None


def _pydantic(item: Item, family: str) -> Decision | None:
    if family != "pydantic_ai":
        return None
    name = item.name.lower()
    if name.startswith("chat ") or _has_model_and_tokens(item):
        return Decision(TRACE, family, event_type="chat")
    if name.startswith(("agent run", "invoke_agent")):
        return Decision(SPAN, family, "agent_run", "agent_run")
    if name.startswith(("running tool", "execute_tool")):
        return Decision(SPAN, family, "tool_use", "execute_tool")
    return None


def _has_model_and_tokens(item: Item) -> bool:
    a = item.attrs
    has_model = get_str(a, *MODEL_KEYS) is not None
    has_tokens = any(("usage" in k or "token_count" in k) and "details" not in k for k in a)
    return has_model and has_tokens


def _fallback(item: Item, family: str, keep_generic: bool) -> Decision:
    """§9 rule 10: model + tokens -> trace; GenAI-ish -> agent_run; else drop (or keep)."""
    if _has_model_and_tokens(item):
        return Decision(TRACE, family)
    if has_prefix(item.attrs, *_GENAI_PREFIXES):
        return Decision(SPAN, family, "agent_run", item.name or "span")
    if keep_generic:
        return Decision(SPAN, family, "notification", item.name or "span")
    return Decision(DROP, family)


def apply_aggregate_guard(items: list[Item], decisions: list[Decision]) -> list[Decision]:
    """Demote would-be traces that have a trace descendant (same OTel trace, same batch)."""
    children: dict[tuple[str | None, str | None], list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        children[(item.trace_id, item.parent_id)].append(index)
    out = list(decisions)
    for index, (item, decision) in enumerate(zip(items, decisions, strict=True)):
        if decision.target == TRACE and _has_trace_descendant(index, items, decisions, children):
            event = decision.event_type or as_str(item.attrs.get("gen_ai.operation.name"))
            out[index] = replace(
                decision, target=SPAN, kind="agent_run", event_type=event or item.name,
                demoted=True,
            )
    return out


def _has_trace_descendant(
    index: int,
    items: list[Item],
    decisions: list[Decision],
    children: dict[tuple[str | None, str | None], list[int]],
) -> bool:
    stack = list(children.get((items[index].trace_id, items[index].span_id), ()))
    seen: set[int] = set()
    while stack:
        child = stack.pop()
        if child in seen or child == index:
            continue
        seen.add(child)
        if decisions[child].target == TRACE:
            return True
        stack.extend(children.get((items[child].trace_id, items[child].span_id), ()))
    return False
