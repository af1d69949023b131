"""The ordered registry of convention families, and the cross-family chains built from it.

**Precedence order** (:data:`REGISTRY`) - the order in which families are consulted for a field:

1. ``langfuse`` - explicit choices a user made on a span;
2. ``otel_general`` - OpenTelemetry's general ``session.id``;
3. ``otel_genai``, then ``otel_genai_deprecated`` - the standard, then its older names;
4. ``claude_code`` - its bare ``tool_use_id`` / ``tool_name`` / ``tool_input`` names, which other
   agents' spans use too;
5. ``openinference``, ``openllmetry``, ``vercel_ai``, ``pydantic_ai``, ``codex`` - the other
   conventions;
6. ``generic`` - the bare ``model`` attribute; ``langsmith`` last.

A chain for a field lists, in this order, every family's *primary* names, then every family's
*fallback* names, then every family's *last* names (:class:`~.base.Keys`). One documented
exception: the token-usage chains consult OpenLLMetry's classic ``llm.usage.*`` names before
OpenInference's ``llm.token_count.*`` (:data:`USAGE_ORDER`). ``tests/mapping/test_registry.py``
pins every chain, so a change of order is always a visible decision. A family's *hooks* (values
kept only on some spans, such as Traceloop entities, read right after the primary tier; cache
counts in provider metadata; trace and span metadata) are likewise collected in this order.

**Detection order** (:data:`DETECTION_ORDER`): the first family whose ``detect`` accepts a span
names it (its ``source``); most specific signatures first; OTel GenAI is the default.

**Classification order** (:data:`CLASSIFICATION_ORDER`): first-match rules. Langfuse's explicit
override first, then Claude Code's own span types, then the rules that read a convention's
attributes on any span (GenAI operation, OpenInference kind, OpenLLMetry request type / span kind),
then the rules that apply only to their own family's spans (Vercel, pydantic-ai); the generic
fallback (:mod:`pulse.mapping.classify`) decides the rest. Log records: Claude Code, then Codex
(:data:`LOG_DETECTION_ORDER`); any other record is a GenAI event or dropped.

Everything here is computed once, at import.
"""

from __future__ import annotations

from typing import Any

from pulse.mapping.families.base import READER_FIELDS, Family, Field
from pulse.mapping.families.claude_code import CLAUDE_CODE
from pulse.mapping.families.codex import CODEX
from pulse.mapping.families.generic import GENERIC, LANGFUSE, LANGSMITH, OTEL_GENERAL
from pulse.mapping.families.openinference import OPENINFERENCE
from pulse.mapping.families.openllmetry import OPENLLMETRY
from pulse.mapping.families.otel_genai import OTEL_GENAI, OTEL_GENAI_DEPRECATED
from pulse.mapping.families.pydantic_ai import PYDANTIC_AI
from pulse.mapping.families.vercel_ai import VERCEL_AI

REGISTRY: tuple[Family, ...] = (
    LANGFUSE,
    OTEL_GENERAL,
    OTEL_GENAI,
    OTEL_GENAI_DEPRECATED,
    CLAUDE_CODE,
    OPENINFERENCE,
    OPENLLMETRY,
    VERCEL_AI,
    PYDANTIC_AI,
    CODEX,
    GENERIC,
    LANGSMITH,
)


def _moved_before(order: tuple[Family, ...], family: Family, *, before: Family
                  ) -> tuple[Family, ...]:
    rest = [f for f in order if f is not family]
    at = rest.index(before)
    return (*rest[:at], family, *rest[at:])


USAGE_ORDER = _moved_before(REGISTRY, OPENLLMETRY, before=OPENINFERENCE)
DETECTION_ORDER: tuple[Family, ...] = (
    CLAUDE_CODE, CODEX, VERCEL_AI, PYDANTIC_AI, OPENINFERENCE, OPENLLMETRY,
)
DEFAULT_FAMILY = OTEL_GENAI
LOG_DETECTION_ORDER: tuple[Family, ...] = (CLAUDE_CODE, CODEX)
CLASSIFICATION_ORDER: tuple[Family, ...] = (
    LANGFUSE, CLAUDE_CODE, OTEL_GENAI, OPENINFERENCE, OPENLLMETRY, VERCEL_AI, PYDANTIC_AI,
)

_TIERS = ("primary", "fallback", "last")


def chain(
    field: Field, *tiers: str, order: tuple[Family, ...] = REGISTRY
) -> tuple[Any, ...]:
    """Every family's names for ``field`` in ``tiers`` (default: all three), in ``order``."""
    found: list[Any] = []
    for tier in tiers or _TIERS:
        for family in order:
            where = family.fields.get(field)
            if where is not None:
                found.extend(name for name in getattr(where, tier) if name not in found)
    if field not in READER_FIELDS and not all(isinstance(name, str) for name in found):
        raise TypeError(f"{field}: only attribute names are read for this field")
    return tuple(found)


def _hooks(attribute: str) -> tuple[Any, ...]:
    return tuple(getattr(f, attribute) for f in REGISTRY if getattr(f, attribute) is not None)


# --- the chains the builders read ---------------------------------------------------------------

SESSION_KEYS = chain(Field.SESSION)
PROVIDER_KEYS = chain(Field.PROVIDER)
REQUEST_MODEL_KEYS = chain(Field.REQUEST_MODEL, "primary")
REQUEST_MODEL_FALLBACK_KEYS = chain(Field.REQUEST_MODEL, "fallback", "last")
RESPONSE_MODEL_KEYS = chain(Field.RESPONSE_MODEL, "primary", "fallback")
RESPONSE_MODEL_LAST_KEYS = chain(Field.RESPONSE_MODEL, "last")  # after the response body
MODEL_KEYS = chain(Field.MODEL)
RESPONSE_ID_KEYS = chain(Field.RESPONSE_ID)
CONTENT_ORDER = chain(Field.CONTENT)
FINISH_REASON_KEYS = chain(Field.FINISH_REASON, "primary", "fallback")  # before the content's
FINISH_REASON_LAST_KEYS = chain(Field.FINISH_REASON, "last")
COST_USD_KEYS = chain(Field.COST_USD)
TTFT_MS_KEYS = chain(Field.TTFT_MS)
TTFT_SECONDS_KEYS = chain(Field.TTFT_SECONDS)
OPERATION_KEYS = chain(Field.OPERATION)
SYSTEM_FINGERPRINT_KEYS = chain(Field.SYSTEM_FINGERPRINT)

INPUT_KEYS = chain(Field.INPUT_TOKENS, order=USAGE_ORDER)
OUTPUT_KEYS = chain(Field.OUTPUT_TOKENS, order=USAGE_ORDER)
CACHE_READ_KEYS = chain(Field.CACHE_READ_TOKENS, "primary", "fallback", order=USAGE_ORDER)
CACHE_READ_LAST_KEYS = chain(Field.CACHE_READ_TOKENS, "last", order=USAGE_ORDER)
CACHE_WRITE_KEYS = chain(Field.CACHE_WRITE_TOKENS, order=USAGE_ORDER)
CACHE_READ_EXCLUDED_KEYS = chain(Field.CACHE_READ_EXCLUDED, order=USAGE_ORDER)
CACHE_WRITE_EXCLUDED_KEYS = chain(Field.CACHE_WRITE_EXCLUDED, order=USAGE_ORDER)
REASONING_KEYS = chain(Field.REASONING_TOKENS, order=USAGE_ORDER)
TOTAL_KEYS = chain(Field.TOTAL_TOKENS, order=USAGE_ORDER)

TOOL_ID_KEYS = chain(Field.TOOL_ID)
TOOL_NAME_KEYS = chain(Field.TOOL_NAME)
TOOL_INPUT_KEYS = chain(Field.TOOL_INPUT)
TOOL_OUTPUT_KEYS = chain(Field.TOOL_OUTPUT)
AGENT_NAME_KEYS = chain(Field.AGENT_NAME, "primary")
AGENT_NAME_FALLBACK_KEYS = chain(Field.AGENT_NAME, "fallback", "last")

# hooks, in registry order
EXCLUDED_CACHE = _hooks("excluded_cache")
TRACE_METADATA = _hooks("trace_metadata")
IO_METADATA = _hooks("io_metadata")
CONDITIONAL = _hooks("conditional")
TOOL_SPAN_PREFIXES = tuple(f.tool_span_prefix for f in REGISTRY if f.tool_span_prefix)
GENAI_PREFIXES = tuple(dict.fromkeys(p for f in REGISTRY for p in f.prefixes))
# Where one family's own names are meant rather than a cross-family chain:
# a trace names its agent only by the GenAI attribute (the chain above is for agent spans), and a
# demoted would-be trace takes its event type from the GenAI operation.
TRACE_AGENT_NAME_KEYS = OTEL_GENAI.fields[Field.AGENT_NAME].primary
GENAI_OPERATION_KEYS = OTEL_GENAI.fields[Field.OPERATION].primary
