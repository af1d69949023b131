"""Prices in cents: the cached flat-rate path must equal genai-prices' own calculation."""

import random
import warnings
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from genai_prices import Usage as PricesUsage
from genai_prices import calc_price, data_snapshot

from pulse.mapping import pricing
from pulse.mapping.cost import to_cents
from pulse.mapping.pricing import price_cents
from pulse.mapping.usage import Usage

AT = datetime(2026, 1, 25, 12, tzinfo=UTC)
REVERSE = {v: k for k, v in pricing._GENAI_PRICES_PROVIDER.items()}


def compute_cost_cents(provider: str, model: str | None, usage: Usage, at: datetime):
    return to_cents(price_cents(provider, model, usage, at))


def reference_cents(provider_id: str, model: str, usage: Usage) -> Decimal | None:
    tokens = PricesUsage(
        input_tokens=usage.input, output_tokens=usage.output,
        cache_read_tokens=usage.cache_read or None,
        cache_write_tokens=usage.cache_creation or None,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = calc_price(tokens, model, provider_id=provider_id, genai_request_timestamp=AT)
    except (LookupError, ValueError):
        return None
    return (Decimal(result.total_price) * 100).quantize(Decimal("0.000001"))


def catalogue() -> list[tuple[str, str]]:
    pairs = []
    for provider in data_snapshot.get_snapshot().providers:
        if provider.id in REVERSE:
            pairs += [(provider.id, m.id) for m in provider.models]
    return pairs


def test_flat_path_equals_genai_prices_for_every_known_model():
    rng = random.Random(7)
    pairs = catalogue()
    assert len(pairs) > 200  # the catalogue is really there
    checked = flat = 0
    for provider_id, model in pairs:
        for _ in range(3):
            cache_read = rng.choice([0, 0, rng.randint(1, 5000)])
            cache_write = rng.choice([0, 0, rng.randint(1, 3000)])
            usage = Usage(
                input=cache_read + cache_write + rng.randint(1, 300_000),
                output=rng.randint(0, 20_000),
                cache_read=cache_read, cache_creation=cache_write,
            )
            expected = reference_cents(provider_id, model, usage)
            got = compute_cost_cents(REVERSE[provider_id], model, usage, AT)
            assert got == expected, (provider_id, model, usage)
            checked += 1
        flat += pricing._flat_prices(provider_id, model, AT.date()) is not None
    assert checked == 3 * len(pairs)
    assert flat > len(pairs) // 2  # the fast path is the common case


@pytest.mark.parametrize(
    ("provider", "model", "usage", "cents"),
    [
        ("openai", "gpt-4o", Usage(1000, 500), Decimal("0.75")),  # $2.50 / $10 per M
        # Anthropic: $3 in, $15 out, $0.30 cache read, $3.75 cache write per M
        ("anthropic", "claude-sonnet-4-5", Usage(1000, 500, 200, 0), Decimal("0.996")),
        ("anthropic", "claude-sonnet-4-5", Usage(1000, 500, 0, 300), Decimal("1.0725")),
    ],
)
def test_known_prices(provider, model, usage, cents):
    assert compute_cost_cents(provider, model, usage, AT) == cents


def test_unknown_model_or_no_tokens_has_no_cost():
    assert compute_cost_cents("openai", "no-such-model-xyz", Usage(10, 10), AT) is None
    assert compute_cost_cents("openai", "gpt-4o", Usage(0, 0), AT) is None
    assert compute_cost_cents("openai", None, Usage(10, 10), AT) is None
