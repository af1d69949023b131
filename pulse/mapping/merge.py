"""Record assembly: the merge of two pieces of the same trace row, field by field (pure).

A stored trace row and a newly arrived piece with the same ``(project_id, trace_id)`` (a span
and its log events, a log twin, a redelivery) become one row. Storage calls
:func:`merge_trace_rows` with both as column dicts (``pulse.traces`` column -> value, JSON
decoded) and writes what it returns; it never imports this module (``main`` passes it in).

Precedence (docs/mapping.md, "Record assembly"): every field, or group of fields that must move
together, of each piece gets a *key* ``(rank, tie-break)`` and the greater key wins.

* An empty value (None, ``""``, ``{}``, ``{"messages": []}``, provider or model ``unknown``)
  ranks -1: real content beats empty whatever its origin.
* Otherwise the rank is the piece's own for that field (the hidden ``assembly`` column: a
  ``{field: rank}`` map the mapping sets on pieces that know less, e.g. a log event's timing is
  rank 0), else :data:`DEFAULT_RANK`. Cost ranks by ``metadata.cost_source``: ``client`` 30
  (e.g. Claude Code's own cost) over ``provider`` 20 over ``computed`` 10.
* Equal ranks: a deterministic tie-break on the value (the earlier timestamp, else the greater
  canonical JSON text).

Taking a maximum per field under a total order makes the merge commutative, associative and
idempotent: the row is the same whatever the arrival order, however the pieces were split, and
a redelivered piece changes nothing. The merged row's ``assembly`` keeps each winner's rank when
it is not the default, so later pieces compare against the same keys.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

DEFAULT_RANK = 10
# A log event that belongs to a span (same trace and span id): its time is when it was emitted
# and it has no duration, so the span's timing wins whichever arrives first.
LOG_OF_SPAN: dict[str, int] = {"timestamp": 0, "latency_ms": 0}
# A client's own measurement of the call (Claude Code's ``duration_ms``) over a span's timing.
OWN_LATENCY: dict[str, int] = {"latency_ms": 20}
EMPTY = -1
COST_RANKS = {"client": 30, "provider": 20, "computed": 10}
_COST_META = ("cost_source", "price_source")
_UNKNOWN = ("", "unknown")

# Columns a merge never changes: the row's identity, and what the database stamps.
FIXED = frozenset({"project_id", "trace_id", "ingested_at", "assembly"})
_TEXT = ("session_id", "model_used", "provider_request_id", "output_text", "finish_reason",
         "otel_trace_id", "otel_span_id", "otel_parent_span_id", "service_name")
_NUMBERS = ("latency_ms", "input_tokens", "output_tokens")


def _canon(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str)


def _empty_body(value: Any) -> bool:
    return not value or value == {"messages": []}


def _rank(assembly: dict[str, Any] | None, name: str, default: int = DEFAULT_RANK) -> int:
    """A piece's rank for ``name``: its own (never below 0: only an empty value ranks below
    every real one), else ``default``."""
    value = assembly.get(name) if assembly else None
    return max(value, 0) if isinstance(value, int) and not isinstance(value, bool) else default


# A group: the columns (or "metadata.<key>" entries) that move together, and its key function
# (row -> (rank, tie-break)); ``assembly`` rank overrides are looked up by the group's name.
Key = tuple[int, Any]


def _simple(name: str, empty: Callable[[Any], bool]) -> Callable[[dict], Key]:
    def key(row: dict) -> Key:
        value = row.get(name)
        if value is None or empty(value):
            return (EMPTY, _canon(value))
        return (_rank(row.get("assembly"), name), _canon(value))
    return key


def _number(name: str) -> Callable[[dict], Key]:
    def key(row: dict) -> Key:
        value = row.get(name)
        if value is None:
            return (EMPTY, 0.0)
        return (_rank(row.get("assembly"), name), float(value))
    return key


def _timestamp(row: dict) -> Key:
    ts: datetime = row["timestamp"]
    return (_rank(row.get("assembly"), "timestamp"), -ts.timestamp())  # tie: the earlier


def _cost(row: dict) -> Key:
    if row.get("cost_cents") is None:
        return (EMPTY, (0.0, b""))
    source = (row.get("metadata") or {}).get("cost_source")
    default = COST_RANKS.get(source, DEFAULT_RANK) if isinstance(source, str) else DEFAULT_RANK
    meta = row.get("metadata") or {}
    tie = (float(row["cost_cents"]), _canon([meta.get(k) for k in _COST_META]))
    return (_rank(row.get("assembly"), "cost", default), tie)


def _status(row: dict) -> Key:
    failed = row.get("status") == "error"
    return (_rank(row.get("assembly"), "status"), (failed, _canon(row.get("error"))))


GROUPS: dict[str, tuple[tuple[str, ...], Callable[[dict], Key]]] = {
    "timestamp": (("timestamp",), _timestamp),
    "provider": (("provider",), _simple("provider", lambda v: v in _UNKNOWN)),
    "model_requested": (("model_requested",),
                        _simple("model_requested", lambda v: v in _UNKNOWN)),
    "request_body": (("request_body",), _simple("request_body", _empty_body)),
    "response_body": (("response_body",), _simple("response_body", _empty_body)),
    "cost": (("cost_cents", *(f"metadata.{k}" for k in _COST_META)), _cost),
    "status": (("status", "error"), _status),
    **{name: ((name,), _simple(name, lambda v: v == "")) for name in _TEXT},
    **{name: ((name,), _number(name)) for name in _NUMBERS},
}


def _get(row: dict, column: str) -> Any:
    if column.startswith("metadata."):
        return (row.get("metadata") or {}).get(column[9:])
    return row.get(column)


def _meta_key(row: dict, key: str) -> Key:
    value = (row.get("metadata") or {}).get(key)
    assembly = row.get("assembly")
    rank = EMPTY if value is None else _rank(
        assembly, f"metadata.{key}", _rank(assembly, "metadata"))
    return (rank, _canon(value))


def _default_rank_of(group: str, row: dict) -> int:
    """The rank a piece without an ``assembly`` entry for ``group`` would have."""
    return GROUPS[group][1]({**row, "assembly": None})[0] if group in GROUPS else DEFAULT_RANK


def merge_trace_rows(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The row made of pieces ``a`` and ``b`` of one trace (``pulse.traces`` column dicts).

    Commutative, associative and idempotent (see the module docstring). Columns in
    :data:`FIXED` come from ``a`` (the stored row); ``assembly`` is recomputed.
    """
    out = dict(a)
    metadata: dict[str, Any] = {}
    ranks: dict[str, int] = {}
    for group, (columns, key) in GROUPS.items():
        ka, kb = key(a), key(b)
        winner, k = (a, ka) if ka >= kb else (b, kb)
        for column in columns:
            value = _get(winner, column)
            if column.startswith("metadata."):
                if value is not None:
                    metadata[column[9:]] = value
            else:
                out[column] = value
        if k[0] != _default_rank_of(group, winner) and k[0] != EMPTY:
            ranks[group] = k[0]
    keys = set(a.get("metadata") or {}) | set(b.get("metadata") or {})
    for name in sorted(keys - set(_COST_META)):
        ka, kb = _meta_key(a, name), _meta_key(b, name)
        winner, k = (a, ka) if ka >= kb else (b, kb)
        metadata[name] = (winner.get("metadata") or {}).get(name)
        if k[0] != EMPTY and k[0] != _rank(None, "metadata"):
            ranks[f"metadata.{name}"] = k[0]
    out["metadata"] = metadata
    out["assembly"] = ranks or None
    return out
