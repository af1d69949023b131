"""Native Pulse JSON (the ``/v1/traces|spans/async|batch`` routes) -> TraceRecord / SpanRecord.

The body is a JSON array of 1..100 items. Unknown keys are ignored, ``null`` on an optional field
means absent. One invalid item rejects the whole batch with ``InvalidInput("Validation failed",
details=[{"index", "field", "message"}, ...])``, listing every problem found, not just the first.
Cost follows :mod:`pulse.mapping.cost` (the client's ``cost_cents`` first, else computed;
``metadata.cost_source`` says which).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

from pulse.errors import InvalidInput
from pulse.mapping.cost import MAX_COST_CENTS, NOT_REPORTED, trace_cost
from pulse.mapping.jsonsafe import INT64_MAX, clean_json, clean_str
from pulse.mapping.providers import CANONICAL_PROVIDERS, canonical_provider
from pulse.mapping.timestamps import parse_rfc3339, whole_ms
from pulse.mapping.usage import Usage, make_usage
from pulse.records import SPAN_KINDS, SPAN_SOURCES, SpanRecord, TraceRecord

MAX_ITEMS = 100
MAX_MS = 10**12  # ~31 years
# Deepest nesting accepted in a JSON-valued field: clean_json recurses and the writer's orjson
# refuses to encode beyond 255 levels, so deeper values would fail after validation (a 500).
MAX_JSON_DEPTH = 128
MISSING = object()


class _Bad(Exception):
    """A field-level problem; becomes one entry of ``details``."""


def parse_json_array(body: bytes) -> list[Any]:
    """Decode a native ingest body; enforce "JSON array of 1..100 items"."""
    items = loads_json(body)
    if not isinstance(items, list):
        raise InvalidInput(
            "Validation failed",
            [{"index": None, "field": "body", "message": "Expected a JSON array of items"}],
        )
    if not items or len(items) > MAX_ITEMS:
        raise InvalidInput(
            "Validation failed",
            [
                {
                    "index": None,
                    "field": "body",
                    "message": f"Array must contain 1 to {MAX_ITEMS} items (got {len(items)})",
                }
            ],
        )
    return items


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads_json(body: bytes) -> Any:
    """Strict JSON decoding (no NaN/Infinity). orjson first (fast); the standard library as a
    fallback for what orjson refuses but JSON allows (integers beyond 64 bits), so such a body
    gets a field-level validation message rather than "Invalid JSON body"."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise InvalidInput("Invalid JSON body") from None


# ---- field readers: each returns the cleaned value or raises _Bad ----------------------------


def _string(value: Any, *, max_len: int, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise _Bad("Expected a string")
    if not allow_empty and not value.strip():
        raise _Bad("Must not be empty")
    if len(value) > max_len:
        raise _Bad(f"Must be at most {max_len} characters")
    return clean_str(value)


def _uuid(value: Any) -> UUID:
    if not isinstance(value, str):
        raise _Bad("Expected a UUID string")
    try:
        return UUID(value)
    except ValueError:
        raise _Bad("Invalid UUID") from None


def _timestamp(value: Any):
    if not isinstance(value, str):
        raise _Bad("Expected an RFC 3339 timestamp string")
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise _Bad(f"Invalid timestamp: {exc}") from None


def _number(value: Any, *, maximum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad("Expected a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise _Bad("Must be a finite number")
    if value < 0:
        raise _Bad("Must be greater than or equal to 0")
    if value > maximum:
        raise _Bad(f"Must be at most {maximum:g}")
    return float(value)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad("Expected an integer")
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        raise _Bad("Expected an integer")
    if value < 0:
        raise _Bad("Must be greater than or equal to 0")
    if value > INT64_MAX:
        raise _Bad(f"Must be at most {INT64_MAX}")
    return int(value)


def _check_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise _Bad when ``value`` nests containers deeper than ``limit`` (iterative)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            raise _Bad(f"Nested too deeply (at most {limit} levels)")
        stack.extend((child, depth + 1) for child in children)


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad("Expected an object")
    _check_depth(value)
    return clean_json(value)


def _enum(*allowed: str) -> Callable[[Any], str]:
    def read(value: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise _Bad(f"Must be one of: {', '.join(allowed)}")
        return value

    return read


def _provider(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Bad("Expected a provider id string")
    canonical = canonical_provider(value)
    if canonical is None:
        raise _Bad(f"Unknown provider; expected one of: {', '.join(CANONICAL_PROVIDERS)}")
    return canonical


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad("Expected a boolean")
    return value


def _any_json(value: Any) -> Any:
    _check_depth(value)
    return clean_json(value)


def _text(max_len: int, allow_empty: bool = False) -> Callable[[Any], str]:
    return lambda v: _string(v, max_len=max_len, allow_empty=allow_empty)


def _nonneg(maximum: float) -> Callable[[Any], float]:
    return lambda v: _number(v, maximum=maximum)


# (field, required, reader)
TRACE_FIELDS: tuple[tuple[str, bool, Callable[[Any], Any]], ...] = (
    ("trace_id", True, _uuid),
    ("timestamp", True, _timestamp),
    ("provider", True, _provider),
    ("model_requested", True, _text(512)),
    ("model_used", False, _text(512, allow_empty=True)),
    ("provider_request_id", False, _text(512, allow_empty=True)),
    ("request_body", True, _object),
    ("response_body", False, _object),
    ("input_tokens", False, _count),
    ("output_tokens", False, _count),
    ("output_text", False, _text(10_000_000, allow_empty=True)),
    ("finish_reason", False, _text(128, allow_empty=True)),
    ("status", True, _enum("success", "error")),
    ("error", False, _object),
    ("latency_ms", True, _nonneg(MAX_MS)),
    ("cost_cents", False, _nonneg(MAX_COST_CENTS)),
    ("session_id", False, _text(256)),
    ("metadata", False, _object),
)

SPAN_FIELDS: tuple[tuple[str, bool, Callable[[Any], Any]], ...] = (
    ("span_id", True, _uuid),
    ("session_id", True, _text(256)),
    ("parent_span_id", False, _uuid),
    ("timestamp", True, _timestamp),
    ("duration_ms", False, _nonneg(MAX_MS)),
    ("source", True, _enum(*SPAN_SOURCES)),
    ("kind", True, _enum(*SPAN_KINDS)),
    ("event_type", True, _text(256)),
    ("status", False, _text(64)),
    ("tool_use_id", False, _text(512)),
    ("tool_name", False, _text(512)),
    ("tool_input", False, _any_json),
    ("tool_response", False, _any_json),
    ("error", False, _any_json),
    ("is_interrupt", False, _bool),
    ("cwd", False, _text(4096, allow_empty=True)),
    ("model", False, _text(512, allow_empty=True)),
    ("agent_name", False, _text(512, allow_empty=True)),
    ("metadata", False, _object),
)


def _read_item(
    index: int,
    item: Any,
    spec: tuple[tuple[str, bool, Callable[[Any], Any]], ...],
    problems: list[dict[str, Any]],
) -> dict[str, Any]:
    if not isinstance(item, dict):
        problems.append({"index": index, "field": None, "message": "Expected an object"})
        return {}
    values: dict[str, Any] = {}
    for name, required, reader in spec:
        raw = item.get(name)
        if raw is None:  # absent and null are the same
            if required:
                problems.append({"index": index, "field": name, "message": "Required"})
            continue
        try:
            values[name] = reader(raw)
        except _Bad as exc:
            problems.append({"index": index, "field": name, "message": str(exc)})
    return values


def _validate(items: list[Any], spec) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    values = [_read_item(i, item, spec, problems) for i, item in enumerate(items)]
    if problems:
        raise InvalidInput("Validation failed", problems)
    return values


def traces_from_json(items: list[Any]) -> list[TraceRecord]:
    """Validate native trace items and build records (computing cost where absent)."""
    return [_trace(v) for v in _validate(items, TRACE_FIELDS)]


def spans_from_json(items: list[Any]) -> list[SpanRecord]:
    """Validate native span items and build records."""
    return [SpanRecord(**v) for v in _validate(items, SPAN_FIELDS)]


def _trace(v: dict[str, Any]) -> TraceRecord:
    metadata = dict(v.pop("metadata", None) or {})
    cost = v.pop("cost_cents", None)
    reported = NOT_REPORTED
    if cost is not None:  # kept exactly as sent; the client may say it came from the provider
        source = metadata.get("cost_source")
        reported = (Decimal(repr(cost)), source if source in ("client", "provider") else "client")
    v["latency_ms"] = whole_ms(v["latency_ms"])
    usage = native_usage(v, metadata)
    cost = trace_cost(reported, v["provider"], v.get("model_used"), v["model_requested"], usage,
                      v["timestamp"])
    metadata.pop("cost_missing", None)  # ours to say, not the client's
    metadata.update(cost.metadata())
    return TraceRecord(**v, cost_cents=cost.cents, metadata=metadata)


def _int_or_zero(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def native_usage(v: dict[str, Any], metadata: dict[str, Any]) -> Usage | None:
    """Token usage for pricing, with cache tokens from metadata or the provider's usage block.

    Pulse semantics: input counts all input, cache included. Anthropic's own
    ``usage.input_tokens`` excludes cache reads/writes, so when the client passed that number
    (equal to ``response_body.usage.input_tokens``) the input is marked cache-excluded and
    :func:`make_usage` adds the cache for pricing (the stored ``input_tokens`` stays as sent);
    otherwise the client's input is taken at its word (Pulse semantics: cache included).
    """
    input_tokens, output_tokens = v.get("input_tokens"), v.get("output_tokens")
    if input_tokens is None and output_tokens is None:
        return None
    usage = (v.get("response_body") or {}).get("usage")
    usage = usage if isinstance(usage, dict) else {}
    cache_read = (
        _int_or_zero(metadata.get("cache_read_input_tokens"))
        or _int_or_zero(usage.get("cache_read_input_tokens"))
        or _int_or_zero(_as_dict(usage.get("prompt_tokens_details")).get("cached_tokens"))
        or _int_or_zero(_as_dict(usage.get("input_tokens_details")).get("cached_tokens"))
    )
    cache_write = _int_or_zero(metadata.get("cache_creation_input_tokens")) or _int_or_zero(
        usage.get("cache_creation_input_tokens")
    )
    anthropic_native = "cache_read_input_tokens" in usage or "cache_creation_input_tokens" in usage
    excluded = anthropic_native and usage.get("input_tokens") == input_tokens
    return make_usage(input_tokens, output_tokens, cache_read=cache_read,
                      cache_creation=cache_write, cache_excluded=excluded)
