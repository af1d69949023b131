"""Cost in cents via the ``genai-prices`` package (SPEC.md §3, MAPPING.md §12).

Token semantics follow OTel >= 1.40: ``input_tokens`` counts *all* input tokens, cache reads and
cache writes included; genai-prices uses the same convention and prices the cached parts at their
own rates. Reasoning tokens are part of ``output_tokens``. Pure: genai-prices ships its price data
in the wheel and we never ask it to fetch updates.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

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
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = calc_price(
                tokens,
                model,
                provider_id=prices_provider,
                genai_request_timestamp=at,
            )
    except (LookupError, ValueError):
        return None
    # genai-prices answers in USD; we store cents with sub-cent precision.
    return (Decimal(result.total_price) * 100).quantize(Decimal("0.000001"))
