"""Token usage: the one :class:`Usage` type of every path (native API, OTLP), and the one rule
for cache tokens (:func:`make_usage`).

Pulse semantics are OTel's (>= 1.40): ``input`` counts *all* input tokens, cache reads and cache
writes included; ``output`` includes reasoning. Anthropic's API reports an input that *excludes*
the cache, so sources in that shape say so (``cache_excluded``) and the cache is added here, and
only here.
"""

from __future__ import annotations

from dataclasses import dataclass

from pulse.mapping.attrs import Attrs, as_dict, get_int, get_json


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
        cache_excluded=True if anthropic_native and legacy else None,
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
    cache_excluded: bool | None = None,
) -> Usage:
    """Build a Usage, adding the cache tokens to input when the source's input excludes them.

    ``cache_excluded``: True when the source is known to report input without the cache
    (Anthropic's shape), False when it is known to include it, None when unknown: then the cache
    is added only if the reported input is smaller than the cache parts alone (the source cannot
    have included them: an Anthropic-shaped payload we could not recognise). Output defaults to
    ``total - input`` when only those two are known. Negative counts become 0.
    """
    cache_sum = (cache_read or 0) + (cache_creation or 0)
    inferred = cache_excluded is None and input_tokens is not None and input_tokens < cache_sum
    if input_tokens is not None and (cache_excluded or inferred):
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
