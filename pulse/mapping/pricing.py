"""Cost in cents via the ``genai-prices`` package (SPEC.md §3, MAPPING.md §12).

Token semantics follow OTel >= 1.40: ``input_tokens`` counts *all* input tokens, cache reads and
cache writes included; genai-prices uses the same convention and prices the cached parts at their
own rates. Reasoning tokens are part of ``output_tokens``. Pure: genai-prices ships its price data
in the wheel and we never ask it to fetch updates.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache

from genai_prices import Usage, calc_price

# Pulse canonical provider id -> genai-prices provider id. Absent: let genai-prices guess from the
# model name (it matches e.g. "gpt-4o" to openai), which is right for gateways like litellm.
_GENAI_PRICES_PROVIDER: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "azure.ai.openai": "azure",
    "aws.bedrock": "aws",
    "gcp.vertex_ai": "google",
    "gcp.gemini": "google",
    "gcp.gen_ai": "google",
    "mistral_ai": "mistral",
    "x_ai": "x-ai",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "groq": "groq",
    "perplexity": "perplexity",
    "openrouter": "openrouter",
    "together_ai": "together",
    "fireworks": "fireworks",
    "moonshot": "moonshotai",
    "cerebras": "cerebras",
}


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Token counts for pricing. ``input_tokens`` includes ``cache_read`` and ``cache_write``."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


def compute_cost_cents(
    provider: str | None,
    model: str | None,
    usage: TokenUsage,
    at: datetime | None = None,
) -> Decimal | None:
    """Cost of one call in cents, or None when the model (or the usage) is unknown.

    ``provider`` is a canonical Pulse id. Never raises for unknown models: an unknown model simply
    has no computed cost (a custom price table is the analytics issue's business).
    """
    if not model or (usage.input_tokens <= 0 and usage.output_tokens <= 0):
        return None
    input_tokens = max(usage.input_tokens, usage.cache_read_tokens + usage.cache_write_tokens)
    tokens = Usage(
        input_tokens=input_tokens,
        output_tokens=max(usage.output_tokens, 0),
        cache_read_tokens=max(usage.cache_read_tokens, 0) or None,
        cache_write_tokens=max(usage.cache_write_tokens, 0) or None,
    )
    prices_provider = _GENAI_PRICES_PROVIDER.get(provider or "")
    day = (at or datetime.now(UTC)).date()
    flat = _flat_prices(prices_provider, model, day)
    if flat is not None and _flat_applies(flat, usage):
        usd = _flat_cost(flat, tokens_input=input_tokens, usage=usage)
    else:
        try:
            usd = _calc(tokens, model, prices_provider, at).total_price
        except (LookupError, ValueError):
            return None
    # genai-prices answers in USD; we store cents with sub-cent precision.
    return (Decimal(usd) * 100).quantize(Decimal("0.000001"))


def _calc(tokens: Usage, model: str, provider_id: str | None, at: datetime | None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return calc_price(tokens, model, provider_id=provider_id, genai_request_timestamp=at)


# The per-token rates of the common case, read once per (provider, model, day). genai-prices'
# calc_price costs ~70 us per call (registry decomposition, validation), which is most of the
# mapping time of an LLM span; flat per-million-token prices need only four multiplications.
_FLAT_KEYS = frozenset({"input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok"})
# Prices of usage we never report (web searches, code executions...): they add nothing to a
# token-only usage, so they do not disqualify the flat path. Per-request prices would.
_COUNTED_ELSEWHERE = re.compile(r"^[a-z_]*(searches|executions)_kcount$")


@lru_cache(maxsize=4096)
def _flat_prices(provider_id: str | None, model: str, day: date) -> dict[str, Decimal] | None:
    """The model's rates when they are flat per-million-token prices, else None (tiers etc.)."""
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    try:
        result = _calc(Usage(input_tokens=1, output_tokens=1), model, provider_id, at)
    except (LookupError, ValueError):
        return None
    prices = {k: v for k, v in vars(result.model_price).items()
              if not k.startswith("_") and v is not None and not _COUNTED_ELSEWHERE.match(k)}
    if not prices or set(prices) - _FLAT_KEYS:
        return None
    if not all(isinstance(v, (Decimal, int, float)) for v in prices.values()):
        return None  # tiered prices (e.g. long-context surcharges): let genai-prices do it
    return {k: Decimal(str(v)) for k, v in prices.items()}


def _flat_applies(prices: dict[str, Decimal], usage: TokenUsage) -> bool:
    """Only when every non-zero bucket has its own rate (else genai-prices decides the rule)."""
    return (usage.cache_read_tokens <= 0 or "cache_read_mtok" in prices) and (
        usage.cache_write_tokens <= 0 or "cache_write_mtok" in prices
    )


def _flat_cost(prices: dict[str, Decimal], tokens_input: int, usage: TokenUsage) -> Decimal:
    cache_read = max(usage.cache_read_tokens, 0)
    cache_write = max(usage.cache_write_tokens, 0)
    uncached = tokens_input - cache_read - cache_write
    total = (
        uncached * prices.get("input_mtok", Decimal(0))
        + max(usage.output_tokens, 0) * prices.get("output_mtok", Decimal(0))
        + cache_read * prices.get("cache_read_mtok", Decimal(0))
        + cache_write * prices.get("cache_write_mtok", Decimal(0))
    )
    return total / 1_000_000
