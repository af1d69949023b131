"""The one cost rule every path follows (native API, OTLP spans, Claude Code and Codex logs).

A trace's cost in cents is

1. the cost its source reported (a provider/SDK figure, a client estimate, or a native client's
   ``cost_cents``), when that is a usable cost;
2. else the cost computed from its tokens by :func:`pulse.mapping.pricing.price_cents` under the
   first of these names that has a price (:func:`price_names`): ``model_used``,
   ``model_requested``, then their normalised names (:func:`normalised_names`: a configured
   deployment alias, the name without a ``provider/`` prefix, without a date suffix)
   (``metadata.cost_source = "computed"``; ``metadata.price_model`` names the price used when
   it is not the model as reported);
   A reported 0 from a provider/SDK attribute beside tokens counts as not reported when a
   price is known (OpenLIT reports 0 for models its own table lacks);
3. else none, and ``metadata.cost_missing`` says why: ``no_tokens``, ``unknown_model:<name>``
   or ``out_of_range``. Storage then still tries the project's custom prices
   (storage/rollups.py ``PRICE_STAGE``) under the reported names and ``price_model``.

A usable cost is finite, >= 0 and at most :data:`MAX_COST_CENTS`: anything larger is a unit
mistake or absurd token counts and is dropped (never stored: the column could not hold it, and
one such row would poison every sum). Computed and converted costs carry sub-cent precision
(six decimals); a native client's ``cost_cents`` is kept exactly as sent.

Deployment aliases (``PULSE_MODEL_ALIASES``) are process-wide configuration, set once at start-up
in every process that maps (:func:`set_model_aliases`; the mapping workers get them through their
initializer): threading them through every builder would touch every family for one lookup.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pulse.mapping.pricing import PriceBook, price_cents
from pulse.mapping.usage import Usage

MAX_COST_CENTS = 10**12  # ten billion dollars for one call: anything above is a mistake
_PRECISION = Decimal("0.000001")

# (cost in cents, metadata.cost_source) as reported by a source; NOT_REPORTED when it sent none.
Reported = tuple[Decimal | None, str | None]
NOT_REPORTED: Reported = (None, None)

# Release dates providers append to model names: gpt-4o-2024-07-18, claude-3-5-sonnet-20241022,
# Vertex AI's claude-3-5-sonnet@20241022 (also @2024-10-22).
_DATE_SUFFIX = re.compile(r"(?:[-@]\d{4}-\d{2}-\d{2}|[-@]20\d{6})$")
_aliases: dict[str, str] = {}


def set_model_aliases(aliases: Iterable[tuple[str, str]]) -> None:
    """Configure deployment-name aliases (``{"my-gpt4o-deployment": "gpt-4o"}``), matched
    without regard to case."""
    _aliases.clear()
    _aliases.update((name.strip().lower(), model.strip()) for name, model in aliases)


def current_aliases() -> tuple[tuple[str, str], ...]:
    return tuple(_aliases.items())


@contextlib.contextmanager
def model_aliases(aliases: Iterable[tuple[str, str]]) -> Iterator[None]:
    """Aliases for the duration of a block (then the previous ones again)."""
    before = current_aliases()
    set_model_aliases(aliases)
    try:
        yield
    finally:
        set_model_aliases(before)


def normalised_names(name: str) -> list[str]:
    """``name`` and the names it normalises to, in order, without repeats: its alias, then
    without a ``provider/`` prefix (and that name's alias), then without a date suffix (and its
    alias)."""
    out: list[str] = []

    def add(candidate: str) -> None:
        for value in (candidate, _aliases.get(candidate.lower())):
            if value and value not in out:
                out.append(value)

    add(name)
    bare = name.rsplit("/", 1)[-1]
    if bare and bare != name:
        add(bare)
    undated = _DATE_SUFFIX.sub("", bare)
    if undated and undated != bare:
        add(undated)
    return out


def price_names(model_used: str | None, model_requested: str | None) -> list[str]:
    """The names a call is priced under, in order: as reported, then normalised."""
    reported = [m for m in (model_used, model_requested) if m and m.strip()]
    out = list(dict.fromkeys(reported))
    for name in reported:
        out.extend(n for n in normalised_names(name) if n not in out)
    return out


@dataclass(frozen=True, slots=True)
class Cost:
    """A trace's cost and what the metadata says about it."""

    cents: Decimal | None = None
    source: str | None = None  # metadata.cost_source
    price_model: str | None = None  # metadata.price_model
    missing: str | None = None  # metadata.cost_missing

    def metadata(self) -> dict[str, Any]:
        pairs = {"cost_source": self.source, "price_model": self.price_model,
                 "cost_missing": self.missing}
        return {k: v for k, v in pairs.items() if v is not None}


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
    model_used: str | None,
    model_requested: str | None,
    usage: Usage | None,
    at: datetime,
    prices: PriceBook | None = None,
) -> Cost:
    """A trace's :class:`Cost` by the rule above. ``prices`` (custom prices) are tried after
    genai-prices has no price under any of the names, as storage's custom prices are."""
    cost, source = reported
    tokens = usage is not None and ((usage.input or 0) > 0 or (usage.output or 0) > 0)
    if cost is not None and usable(cost):
        # OpenLIT reports 0 for models its own price table lacks: beside tokens, a provider's
        # zero yields to a known price (and stands when there is none). A client's 0 stands.
        if not (cost == 0 and source == "provider" and tokens):
            return Cost(cost, source)
        computed = trace_cost(NOT_REPORTED, provider, model_used, model_requested, usage, at,
                              prices)
        return computed if computed.cents is not None else Cost(cost, source)
    if not tokens:
        return Cost(missing="no_tokens")
    reported_name = model_used if model_used and model_used.strip() else model_requested
    if prices is None and reported_name:  # the common case: the reported model has a price
        found = price_cents(provider, reported_name, usage, at)
        if found is not None:
            computed = to_cents(found)
            return Cost(computed, "computed") if computed is not None else Cost(
                missing="out_of_range")
    names = price_names(model_used, model_requested)
    reported_name = names[0] if names else None
    for book in (None, prices) if prices is not None else (None,):
        for name in names:
            found = price_cents(provider, name, usage, at, book)
            if found is None:
                continue
            computed = to_cents(found)
            if computed is None:
                return Cost(missing="out_of_range")
            return Cost(computed, "computed", name if name != reported_name else None)
    if reported_name is None:
        return Cost(missing="unknown_model:")
    last = names[-1]
    return Cost(missing=f"unknown_model:{reported_name}",
                price_model=last if last not in (model_used, model_requested) else None)
