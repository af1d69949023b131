"""Prices: what one call's tokens cost, in cents at full precision, from ``genai-prices``.

genai-prices counts tokens as Pulse does (input includes cache reads and writes, which it prices
at their own rates; output includes reasoning). Pure: genai-prices ships its price data in the
wheel and we never ask it to fetch updates. The rules about which cost a trace keeps (reported
first, the cap) are :mod:`pulse.mapping.cost`'s; this module only answers "what would it cost".

A :class:`PriceBook` of custom per-million-token prices can be passed for models genai-prices
does not know (today storage applies ``pulse.model_prices`` in SQL instead).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Protocol

from genai_prices import Usage as PricesUsage
from genai_prices import calc_price

from pulse.mapping.usage import Usage

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


class PriceBook(Protocol):
    """Custom prices for models genai-prices does not know: USD per million tokens under the
    keys ``input_mtok``, ``output_mtok`` and optionally ``cache_read_mtok`` /
    ``cache_write_mtok`` (absent: priced as input), or None when the book has no price."""

    def rates(self, provider: str | None, model: str) -> Mapping[str, Decimal] | None: ...


def price_cents(
    provider: str | None,
    model: str | None,
    usage: Usage,
    at: datetime | None = None,
    prices: PriceBook | None = None,
) -> Decimal | None:
    """Cost of one call in cents (unrounded), or None when the model (or the usage) is unknown.

    ``provider`` is a canonical Pulse id. genai-prices first; then ``prices`` when given. Never
    raises for unknown models: an unknown model simply has no price.
    """
    tokens_in, tokens_out = usage.input or 0, usage.output or 0
    cache_read, cache_write = usage.cache_read or 0, usage.cache_creation or 0
    if not model or (tokens_in <= 0 and tokens_out <= 0):
        return None
    input_tokens = max(tokens_in, cache_read + cache_write)
    tokens = PricesUsage(
        input_tokens=input_tokens,
        output_tokens=max(tokens_out, 0),
        cache_read_tokens=max(cache_read, 0) or None,
        cache_write_tokens=max(cache_write, 0) or None,
    )
    prices_provider = _GENAI_PRICES_PROVIDER.get(provider or "")
    day = (at or datetime.now(UTC)).date()
    flat = _flat_prices(prices_provider, model, day)
    if flat is not None and _flat_applies(flat, cache_read, cache_write):
        usd = _flat_cost(flat, input_tokens, tokens_out, cache_read, cache_write)
    elif flat is None and _unknown(prices_provider, model, day):
        usd = _book_cost(prices, provider, model, input_tokens, tokens_out, cache_read,
                         cache_write)
        if usd is None:
            return None
    else:
        try:
            usd = _calc(tokens, model, prices_provider, at).total_price
        except (LookupError, ValueError):
            usd = _book_cost(prices, provider, model, input_tokens, tokens_out, cache_read,
                             cache_write)
            if usd is None:
                return None
    # genai-prices answers in USD; we store cents.
    return Decimal(usd) * 100


def _book_cost(
    prices: PriceBook | None, provider: str | None, model: str, *counts: int
) -> Decimal | None:
    rates = prices.rates(provider, model) if prices is not None else None
    if not rates:
        return None
    flat = {"cache_read_mtok": rates["input_mtok"], "cache_write_mtok": rates["input_mtok"],
            **{k: Decimal(v) for k, v in rates.items() if v is not None}}
    return _flat_cost(flat, *counts)


def _calc(tokens: PricesUsage, model: str, provider_id: str | None, at: datetime | None):
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
        result = _calc(PricesUsage(input_tokens=1, output_tokens=1), model, provider_id, at)
    except (LookupError, ValueError):
        return None
    prices = {k: v for k, v in vars(result.model_price).items()
              if not k.startswith("_") and v is not None and not _COUNTED_ELSEWHERE.match(k)}
    if not prices or set(prices) - _FLAT_KEYS:
        return None
    if not all(isinstance(v, (Decimal, int, float)) for v in prices.values()):
        return None  # tiered prices (e.g. long-context surcharges): let genai-prices do it
    return {k: Decimal(str(v)) for k, v in prices.items()}


@lru_cache(maxsize=4096)
def _unknown(provider_id: str | None, model: str, day: date) -> bool:
    """Whether genai-prices has no price for the model (cached: the cost rule tries several
    names per call, and a miss costs a full lookup)."""
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    try:
        _calc(PricesUsage(input_tokens=1, output_tokens=1), model, provider_id, at)
    except (LookupError, ValueError):
        return True
    return False


def _flat_applies(prices: Mapping[str, Decimal], cache_read: int, cache_write: int) -> bool:
    """Only when every non-zero bucket has its own rate (else genai-prices decides the rule)."""
    return (cache_read <= 0 or "cache_read_mtok" in prices) and (
        cache_write <= 0 or "cache_write_mtok" in prices
    )


def _flat_cost(prices: Mapping[str, Decimal], tokens_input: int, tokens_output: int,
               cache_read: int, cache_write: int) -> Decimal:
    cache_read, cache_write = max(cache_read, 0), max(cache_write, 0)
    uncached = tokens_input - cache_read - cache_write
    total = (
        uncached * prices.get("input_mtok", Decimal(0))
        + max(tokens_output, 0) * prices.get("output_mtok", Decimal(0))
        + cache_read * prices.get("cache_read_mtok", Decimal(0))
        + cache_write * prices.get("cache_write_mtok", Decimal(0))
    )
    return total / 1_000_000
