"""Classification of spans: LLM call (-> ``traces``) or agent activity (-> ``spans``).

A span's family is the first in the registry's detection order whose ``detect`` accepts it (else
OTel GenAI). Rules are then evaluated in the registry's classification order, first match wins;
the generic fallback decides the rest: a span with a model and token counts is a trace, a
GenAI-ish one (any family's attribute namespace) an agent run, anything else is dropped (or kept
as a notification when asked). Only *leaf* model calls become traces: the aggregate guard
(:func:`apply_aggregate_guard`) demotes any would-be trace that has a trace descendant to
``agent_run`` so tokens are never counted twice (Vercel ``ai.generateText``, pydantic-ai agent
runs, ``invoke_agent`` with summed usage). Log records are classified by their families' own
mappers (Claude Code, Codex) and by :mod:`pulse.mapping.signals` (GenAI events).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from pulse.mapping.attrs import get_str, has_prefix
from pulse.mapping.families import registry
from pulse.mapping.families.base import DROP, SPAN, TRACE, Decision, Rule
from pulse.mapping.otlp.items import Item

_RULES: tuple[Rule, ...] = tuple(
    f.classify for f in registry.CLASSIFICATION_ORDER if f.classify is not None
)
_DETECTORS = tuple((f.detect, f.name) for f in registry.DETECTION_ORDER if f.detect is not None)


def family_of(item: Item) -> str:
    """Convention family of a span = its Pulse span ``source``."""
    for detect, name in _DETECTORS:
        if detect(item):
            return name
    return registry.DEFAULT_FAMILY.name


def has_model_and_tokens(item: Item) -> bool:
    """Whether a span names a model (any family's model attribute) and carries a token count
    (any ``*usage*`` / ``*token_count*`` attribute that is not a breakdown ``*details*``)."""
    a = item.attrs
    has_model = get_str(a, *registry.MODEL_KEYS) is not None
    has_tokens = any(("usage" in k or "token_count" in k) and "details" not in k for k in a)
    return has_model and has_tokens


def classify_span(item: Item, *, keep_generic: bool = False) -> Decision:
    """The first rule's decision for one span, else the generic fallback's."""
    family = family_of(item)
    for rule in _RULES:
        decision = rule(item, family, has_model_and_tokens)
        if decision is not None:
            return decision
    return _fallback(item, family, keep_generic)


def _fallback(item: Item, family: str, keep_generic: bool) -> Decision:
    """Model + tokens -> trace; GenAI-ish -> agent_run; else drop (or keep as notification)."""
    if has_model_and_tokens(item):
        return Decision(TRACE, family)
    if has_prefix(item.attrs, *registry.GENAI_PREFIXES):
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
            event = decision.event_type or get_str(item.attrs, *registry.GENAI_OPERATION_KEYS)
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
