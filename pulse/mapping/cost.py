"""The one cost rule every path follows (native API, OTLP spans, Claude Code and Codex logs).

A trace's cost in cents is

1. the cost its source reported (a provider/SDK figure, a client estimate, or a native client's
   ``cost_cents``), when that is a usable cost;
2. else the cost computed from its tokens by :func:`pulse.mapping.pricing.price_cents`
   (``metadata.cost_source = "computed"``);
3. else none.

A usable cost is finite, >= 0 and at most :data:`MAX_COST_CENTS`: anything larger is a unit
mistake or absurd token counts and is dropped (never stored: the column could not hold it, and
one such row would poison every sum). Computed and converted costs carry sub-cent precision
(six decimals); a native client's ``cost_cents`` is kept exactly as sent.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pulse.mapping.pricing import PriceBook, price_cents
from pulse.mapping.usage import Usage

MAX_COST_CENTS = 10**12  # ten billion dollars for one call: anything above is a mistake
_PRECISION = Decimal("0.000001")

# (cost in cents, metadata.cost_source) as reported by a source; NOT_REPORTED when it sent none.
Reported = tuple[Decimal | None, str | None]
NOT_REPORTED: Reported = (None, None)


def usable(cents: Decimal) -> bool:
    """Whether ``cents`` is a cost worth storing (finite, 0 <= cents <= MAX_COST_CENTS)."""
    return cents.is_finite() and 0 <= cents <= MAX_COST_CENTS


def to_cents(value: Decimal | None) -> Decimal | None:
    """``value`` (in cents) rounded to sub-cent precision, or None when it is not usable."""
    if value is None or not usable(value):
        return None
    return value.quantize(_PRECISION)


def trace_cost(
    reported: Reported,
    provider: str,
    model: str | None,
    usage: Usage | None,
    at: datetime,
    prices: PriceBook | None = None,
) -> Reported:
    """(cost in cents, cost_source) for one trace, or (None, None): the rule above."""
    cost, source = reported
    if cost is not None and usable(cost):
        return cost, source
    if usage is None or not usage.known:
        return NOT_REPORTED
    computed = to_cents(price_cents(provider, model, usage, at, prices))
    return (computed, "computed") if computed is not None else NOT_REPORTED
