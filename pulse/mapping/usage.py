"""Token usage: the one :class:`Usage` type of every path (native API, OTLP), and the one rule
for cache tokens (:func:`make_usage`).

Pulse semantics are OTel's (>= 1.40): ``input`` counts *all* input tokens, cache reads and cache
writes included; ``output`` includes reasoning. Anthropic's API reports an input that *excludes*
the cache, so sources in that shape say so (``cache_excluded``) and the cache is added here, and
only here.
"""

from __future__ import annotations

from dataclasses import dataclass


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
        """The breakdown kept in trace metadata (only what was reported)."""
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
