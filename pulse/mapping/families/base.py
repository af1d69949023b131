"""The vocabulary of the family registry: :class:`Field`, :class:`Keys`, :class:`Family`, and the
classification :class:`Decision` every rule returns.

A *family* is one telemetry convention (OTel GenAI, OpenInference, Vercel AI SDK, ...). Its
module declares one :class:`Family` saying how a span is recognised as the family's, how the
family classifies spans, and where it keeps each :class:`Field`. The registry
(:mod:`pulse.mapping.families.registry`) orders the families and assembles, once at import, the
cross-family chains the builders read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pulse.mapping.attrs import Attrs
from pulse.mapping.content import Content
from pulse.mapping.otlp.items import Item

TRACE, SPAN, DROP, FOLD = "trace", "span", "drop", "fold"


@dataclass(frozen=True, slots=True)
class Decision:
    """Where an item goes: ``target`` trace/span/drop/fold, span ``kind``, convention ``family``."""

    target: str
    family: str
    kind: str | None = None
    event_type: str | None = None
    demoted: bool = False


# rule(item, family of the item, "has a model and token counts" test) -> Decision or no opinion.
# The test is the registry's (it knows every family's model attributes), passed in rather than
# imported so that family modules never import the registry that imports them.
ModelCallTest = Callable[[Item], bool]
Rule = Callable[[Item, str, ModelCallTest], Decision | None]
ContentReader = Callable[[Item], Content | None]


class Field(StrEnum):
    """A record field (or metadata entry) that families keep under their own attribute names."""

    SESSION = "session_id"
    PROVIDER = "provider"
    REQUEST_MODEL = "model_requested"
    RESPONSE_MODEL = "model_used"
    MODEL = "model"  # the one model attribute of any span (agent spans, classification)
    RESPONSE_ID = "provider_request_id"
    CONTENT = "content"  # request/response bodies, output text, finish reason: reader functions
    FINISH_REASON = "finish_reason"
    INPUT_TOKENS = "input_tokens"
    OUTPUT_TOKENS = "output_tokens"
    CACHE_READ_TOKENS = "cache_read_input_tokens"
    CACHE_WRITE_TOKENS = "cache_creation_input_tokens"
    # cache counts reported beside an input that excludes them when the provider is Anthropic
    CACHE_READ_EXCLUDED = "cache_read_excluded"
    CACHE_WRITE_EXCLUDED = "cache_write_excluded"
    REASONING_TOKENS = "reasoning_output_tokens"
    TOTAL_TOKENS = "total_tokens"
    COST_USD = "cost_usd"
    TTFT_MS = "ttft_ms"
    TTFT_SECONDS = "ttft_seconds"
    OPERATION = "operation"
    SYSTEM_FINGERPRINT = "system_fingerprint"
    TOOL_ID = "tool_use_id"
    TOOL_NAME = "tool_name"
    TOOL_INPUT = "tool_input"
    TOOL_OUTPUT = "tool_response"
    AGENT_NAME = "agent_name"


# fields whose resolvers accept reader functions among the attribute names
READER_FIELDS = frozenset({Field.CONTENT, Field.REQUEST_MODEL, Field.COST_USD})


@dataclass(frozen=True, slots=True)
class Keys:
    """Where one family keeps one field, best first, in three precedence tiers.

    A chain walks the registry once per tier: every family's ``primary`` names (its own, precise
    name for the field), then every family's ``fallback`` names (loosely defined names that
    several sources use, or names less reliable than any family's primary one), then every
    family's ``last`` names (last resorts, consulted after everything else, including a request
    or response body where the field has one).

    Entries are attribute names, or for the fields in :data:`READER_FIELDS` reader functions
    where a plain name cannot say it (a value inside a JSON attribute): ``reader(attrs) -> value
    or None``. For :attr:`Field.CONTENT` every entry is a reader of the whole item,
    ``reader(item) -> Content or None``. The registry checks this at import.
    """

    primary: tuple[Any, ...] = ()
    fallback: tuple[Any, ...] = ()
    last: tuple[Any, ...] = ()


def keys(*primary: Any, fallback: tuple[Any, ...] = (), last: tuple[Any, ...] = ()) -> Keys:
    """``keys("a", "b", fallback=("c",))``: shorthand for :class:`Keys`."""
    return Keys(tuple(primary), fallback, last)


@dataclass(frozen=True, slots=True)
class Family:
    """One convention family (or a small set of keys, for entries like Langfuse).

    ``name`` is the span ``source`` / ``metadata.source`` for real families. ``detect`` says
    whether a span belongs to the family (``detect_log``: a log record); ``classify`` is its
    first-match classification rule; ``fields`` where it keeps each field. The remaining hooks
    read what plain attribute names cannot express; builders call them in registry order.
    """

    name: str
    fields: Mapping[Field, Keys] = field(default_factory=dict)
    detect: Callable[[Item], bool] | None = None
    detect_log: Callable[[Item], bool] | None = None  # for log records (own mapping per family)
    classify: Rule | None = None
    # attribute namespaces that make an unclassified span "GenAI-ish" (kept as agent activity)
    prefixes: tuple[str, ...] = ()
    # (cache read, cache write) from provider metadata whose input excludes them, or (None, None)
    excluded_cache: Callable[[Attrs], tuple[int | None, int | None]] | None = None
    # family-specific context merged into trace metadata
    trace_metadata: Callable[[Attrs], dict[str, Any]] | None = None
    # generic input/output values a non-tool span keeps in its metadata
    io_metadata: Callable[[Attrs], dict[str, Any]] | None = None
    # a tool/agent field the family keeps only on some spans (read after every primary name)
    conditional: Callable[[Attrs, Field], Any] | None = None
    # span-name prefix before a tool's name ("execute_tool {name}"), when the family has one
    tool_span_prefix: str = ""
