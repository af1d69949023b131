"""Token, finish-reason and cost normalisation (MAPPING.md §12, §10.1 rows input/output/cost).

Token semantics are OTel >= 1.40: ``input_tokens`` counts *all* input, cache reads and writes
included; ``output_tokens`` includes reasoning. Sources whose native input excludes the cache
(Anthropic API shapes) are summed here. Finish reasons are stored in the Pulse SDK's words
(``stop``, ``length``, ``tool_calls``, ``content_filter``, ``error``; others raw).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pulse.mapping.attrs import Attrs, as_dict, as_str, get_decimal, get_int, get_json
from pulse.mapping.pricing import TokenUsage, compute_cost_cents

_CENTS = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class Usage:
    """Normalised usage: ``input`` includes ``cache_read`` and ``cache_creation``."""

    input: int | None = None
    output: int | None = None
    cache_read: int | None = None
    cache_creation: int | None = None
    reasoning: int | None = None
    total: int | None = None

    def metadata(self) -> dict[str, int]:
        """The breakdown kept in trace metadata (MAPPING.md §12: only what was reported)."""
        pairs = {
            "cache_read_input_tokens": self.cache_read,
            "cache_creation_input_tokens": self.cache_creation,
            "reasoning_output_tokens": self.reasoning,
            "total_tokens": self.total,
        }
        return {k: v for k, v in pairs.items() if v is not None}

    @property
    def known(self) -> bool:
        return self.input is not None or self.output is not None

    def pricing(self) -> TokenUsage:
        return TokenUsage(
            input_tokens=self.input or 0,
            output_tokens=self.output or 0,
            cache_read_tokens=self.cache_read or 0,
            cache_write_tokens=self.cache_creation or 0,
        )


# §10.1 input/output chains across conventions (first present wins). Provider "details" keys
# (gen_ai.usage.details.*, *_details.* other than cache/reasoning) are never summed (§12).
INPUT_KEYS = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "ai.usage.inputTokens",
    "ai.usage.promptTokens",
)
OUTPUT_KEYS = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "ai.usage.outputTokens",
    "ai.usage.completionTokens",
)
CACHE_READ_CURRENT = (
    "gen_ai.usage.cache_read.input_tokens",
    "llm.token_count.prompt_details.cache_read",
)
CACHE_WRITE_CURRENT = (
    "gen_ai.usage.cache_creation.input_tokens",
    "llm.token_count.prompt_details.cache_write",
)
# OpenLLMetry <= 0.4 names: their prompt_tokens is the Anthropic-native input (cache excluded).
CACHE_READ_LEGACY = ("gen_ai.usage.cache_read_input_tokens",)
CACHE_WRITE_LEGACY = ("gen_ai.usage.cache_creation_input_tokens",)
REASONING_KEYS = (
    "gen_ai.usage.reasoning.output_tokens",
    "llm.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
    "ai.usage.reasoningTokens",
)
TOTAL_KEYS = (
    "gen_ai.usage.total_tokens",
    "llm.usage.total_tokens",
    "llm.token_count.total",
    "ai.usage.totalTokens",
)


def usage_from_attrs(attrs: Attrs, *, anthropic_native: bool = False) -> Usage:
    """Usage from span/event attributes of any convention (§10.1, §12)."""
    read = get_int(attrs, *CACHE_READ_CURRENT)
    write = get_int(attrs, *CACHE_WRITE_CURRENT)
    legacy = False
    if read is None and write is None:
        read, write = get_int(attrs, *CACHE_READ_LEGACY), get_int(attrs, *CACHE_WRITE_LEGACY)
        legacy = read is not None or write is not None
    provider_read, provider_write = _vercel_provider_cache(attrs)
    if read is None and write is None and (provider_read or provider_write):
        read, write, legacy = provider_read, provider_write, True
    if read is None:
        read = get_int(attrs, "ai.usage.cachedInputTokens")
    return make_usage(
        get_int(attrs, *INPUT_KEYS),
        get_int(attrs, *OUTPUT_KEYS),
        cache_read=read,
        cache_creation=write,
        reasoning=get_int(attrs, *REASONING_KEYS),
        total=get_int(attrs, *TOTAL_KEYS),
        cache_excluded=anthropic_native and legacy,
    )


def _vercel_provider_cache(attrs: Attrs) -> tuple[int | None, int | None]:
    """Anthropic cache fields from Vercel ``ai.response.providerMetadata`` (Anthropic-native)."""
    meta = as_dict(get_json(attrs, "ai.response.providerMetadata")) or {}
    anthropic = as_dict(meta.get("anthropic")) or {}
    usage = as_dict(anthropic.get("usage")) or anthropic
    return (
        get_int(usage, "cache_read_input_tokens", "cacheReadInputTokens"),
        get_int(usage, "cache_creation_input_tokens", "cacheCreationInputTokens"),
    )


def make_usage(
    input_tokens: int | None,
    output_tokens: int | None,
    *,
    cache_read: int | None = None,
    cache_creation: int | None = None,
    reasoning: int | None = None,
    total: int | None = None,
    cache_excluded: bool = False,
) -> Usage:
    """Build a Usage, adding cache tokens to input when the source excludes them (§12).

    Also added when the reported input is smaller than the cache parts alone: then the source
    cannot have included them (guards Anthropic-native payloads we could not recognise).
    """
    cache_sum = (cache_read or 0) + (cache_creation or 0)
    if input_tokens is not None and (cache_excluded or input_tokens < cache_sum):
        input_tokens += cache_sum
    elif input_tokens is None and cache_sum and cache_excluded:
        input_tokens = cache_sum
    if output_tokens is None and total is not None and input_tokens is not None:
        output_tokens = max(total - input_tokens, 0)
    return Usage(
        _nonneg(input_tokens),
        _nonneg(output_tokens),
        _nonneg(cache_read),
        _nonneg(cache_creation),
        _nonneg(reasoning),
        _nonneg(total),
    )


def _nonneg(value: int | None) -> int | None:
    return None if value is None else max(value, 0)


_FINISH = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "complete": "stop",
    "eos": "stop",
    "length": "length",
    "max_tokens": "length",
    "model_length": "length",
    "tool_call": "tool_calls",
    "tool_calls": "tool_calls",
    "tool_use": "tool_calls",
    "tool-calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    "content-filter": "content_filter",
    "safety": "content_filter",
    "recitation": "content_filter",
    "refusal": "content_filter",
    "error": "error",
}


def finish_reason(raw: Any) -> tuple[str | None, str | None]:
    """(Pulse finish reason, raw value) — §12 table in the Pulse SDK's words; unknown kept raw."""
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    text = as_str(raw)
    if text is None:
        return None, None
    return _FINISH.get(text.lower(), text), text


def reported_cost(attrs: Attrs) -> tuple[Decimal | None, str | None]:
    """Provider/SDK-reported cost in cents (§10.1 cost chain, USD values), else (None, None)."""
    details = as_dict(get_json(attrs, "langfuse.observation.cost_details")) or {}
    usd = get_decimal(details, "total")
    if usd is None:
        usd = get_decimal(attrs, "gen_ai.usage.cost", "llm.cost.total")
    if usd is None or usd < 0:
        return None, None
    return cents(usd * 100), "provider"


def cents(value: Decimal) -> Decimal:
    return value.quantize(_CENTS)


def computed_cost(
    provider: str, model: str | None, usage: Usage, at: datetime
) -> tuple[Decimal | None, str | None]:
    """Cost from the price table (genai-prices); (None, None) when the model is unknown."""
    if not usage.known:
        return None, None
    cost = compute_cost_cents(provider, model, usage.pricing(), at)
    return (cost, "computed") if cost is not None else (None, None)
