"""Cross-family field resolution for OTel-derived records: walks the registry's chains.

Session, provider, models, time to first token, reported cost and token usage of a span or log
record, whatever family it comes from: each function reads its field along the chain the
registry assembled (:mod:`pulse.mapping.families.registry`), plus the steps a chain cannot
express (ancestors for the session, the ``server.address`` host for the provider, request and
response bodies for models, the cache rule for usage).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from pulse.mapping.attrs import Attrs, as_decimal, as_str, get_float, get_int, get_str
from pulse.mapping.cost import NOT_REPORTED, Reported, to_cents
from pulse.mapping.families import registry as chains
from pulse.mapping.jsonsafe import clean_str
from pulse.mapping.otlp.items import Item
from pulse.mapping.providers import normalize_provider, provider_from_host
from pulse.mapping.usage import Usage, make_usage

_MAX_SESSION = 256


def _first(a: Attrs, entries: Iterable[Any], convert: Any) -> Any:
    """First value along a chain whose entries are attribute names or reader functions."""
    for entry in entries:
        value = entry(a) if callable(entry) else convert(a.get(entry))
        if value is not None and value != "":
            return value
    return None


def session_id(item: Item, by_span: Mapping[str, Item]) -> tuple[str, bool]:
    """(session, inferred): the chain on the item -> its nearest ancestor that has one -> the
    resource -> the OTel trace id (inferred)."""
    found = get_str(item.attrs, *chains.SESSION_KEYS)
    parent, hops = item.parent_id, 0
    while found is None and parent is not None and hops < 256:
        ancestor = by_span.get(parent)
        if ancestor is None:
            break
        found = get_str(ancestor.attrs, *chains.SESSION_KEYS)
        parent, hops = ancestor.parent_id, hops + 1
    found = found or get_str(item.resource, *chains.SESSION_KEYS)
    if found:
        return clean_str(found)[:_MAX_SESSION], False
    return item.trace_id or "unknown", True


def provider(a: Attrs, default: str | None = None) -> tuple[str, str | None, dict[str, Any]]:
    """(canonical provider, raw value, extra metadata).

    The chain, normalised (:mod:`pulse.mapping.providers`); without one, the provider implied by
    OTel's ``server.address``. An OpenAI-protocol client pointed at another known host (a
    gateway) gets the host's provider, with ``api_format: openai`` in metadata.
    """
    raw = get_str(a, *chains.PROVIDER_KEYS)
    host_provider = provider_from_host(get_str(a, "server.address"))
    extra: dict[str, Any] = {}
    # llm.provider=azure (+ llm.system=openai) normalises to azure.ai.openai via the alias list
    canonical = (default or host_provider or "unknown") if raw is None else normalize_provider(raw)
    if canonical == "openai" and host_provider not in (None, "openai"):
        extra["api_format"] = "openai"
        canonical = host_provider or canonical
    return canonical, raw, extra


def model_requested(a: Attrs, body: Mapping[str, Any] | None = None) -> str | None:
    """Primary names, then fallback names (invocation parameters among them), then the
    request body's ``model``."""
    found = get_str(a, *chains.REQUEST_MODEL_KEYS)
    if found:
        return found
    found = _first(a, chains.REQUEST_MODEL_FALLBACK_KEYS, as_str)
    if found is None and body:
        found = get_str(body, "model")
    return found


def model_used(a: Attrs, body: Mapping[str, Any] | None = None) -> str | None:
    """Primary and fallback names, then the response body's ``model``, then the last resorts
    (without the final ``= model_requested``, which the caller applies)."""
    found = get_str(a, *chains.RESPONSE_MODEL_KEYS)
    if found is None and body:
        found = get_str(body, "model")
    return found or get_str(a, *chains.RESPONSE_MODEL_LAST_KEYS)


def ttft_ms(a: Attrs) -> float | None:
    value = get_float(a, *chains.TTFT_MS_KEYS)
    if value is None:
        seconds = get_float(a, *chains.TTFT_SECONDS_KEYS)
        value = seconds * 1000 if seconds is not None else None
    return value


def reported_cost(a: Attrs) -> Reported:
    """Provider/SDK-reported cost (USD) in cents, else NOT_REPORTED (then it is computed)."""
    usd: Decimal | None = _first(a, chains.COST_USD_KEYS, as_decimal)
    cents = to_cents(usd * 100) if usd is not None else None
    return (cents, "provider") if cents is not None else NOT_REPORTED


def usage_from_attrs(a: Attrs, *, anthropic_native: bool = False) -> Usage:
    """Usage from span/event attributes of any family.

    Cache counts: the current names; else the names that come beside an input excluding them
    (classic OpenLLMetry, then provider metadata such as Vercel's); else the last resorts. When
    the excluding kind was found and the call is Anthropic's, the input excludes the cache.
    Breakdown keys (``gen_ai.usage.details.*``...) are never read: they would count twice.
    """
    read = get_int(a, *chains.CACHE_READ_KEYS)
    write = get_int(a, *chains.CACHE_WRITE_KEYS)
    excluded = False
    if read is None and write is None:
        read = get_int(a, *chains.CACHE_READ_EXCLUDED_KEYS)
        write = get_int(a, *chains.CACHE_WRITE_EXCLUDED_KEYS)
        excluded = read is not None or write is not None
    if read is None and write is None:
        for hook in chains.EXCLUDED_CACHE:
            found_read, found_write = hook(a)
            if found_read or found_write:
                read, write, excluded = found_read, found_write, True
                break
    if read is None:
        read = get_int(a, *chains.CACHE_READ_LAST_KEYS)
    return make_usage(
        get_int(a, *chains.INPUT_KEYS),
        get_int(a, *chains.OUTPUT_KEYS),
        cache_read=read,
        cache_creation=write,
        reasoning=get_int(a, *chains.REASONING_KEYS),
        total=get_int(a, *chains.TOTAL_KEYS),
        cache_excluded=True if anthropic_native and excluded else None,
    )
