"""Write-side bounds, the same for every transport (issue 11): what any record may hold before it
is made durable. Pure: records in, bounded records and notes out.

* **Identifier-like fields** (model, provider, tool name, session id, agent name, event type,
  finish reason, status, ids, cwd) are cut to the native API's limits (``pulse/mapping/native.py``:
  512 characters for models and tool names, 256 for session ids and event types, ...) and, for the
  fields that are part of an index, to 512 UTF-8 bytes (the storage guard's budget,
  ``pulse/storage/guard.py``), on a character boundary. The record keeps the rest of its data;
  ``metadata["pulse.truncated"]`` lists the fields cut, and ``pulse_ingest_truncated{field}``
  counts them.
* **Numbers**: a negative token count, and a NaN or infinite duration, latency or cost, is
  dropped to null (a required latency to 0); ``metadata["pulse.nulled"]`` names the field and
  why, and ``pulse_ingest_nulled{field}`` counts it.
* **Timestamps** outside 1971-01-01 .. 2200-01-01 (UTC) reject the item with a message (OTLP
  partial success; a 400 on the native routes).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pulse.records import SpanRecord, TraceRecord

MIN_TIMESTAMP = datetime(1971, 1, 1, tzinfo=UTC)
MAX_TIMESTAMP = datetime(2200, 1, 1, tzinfo=UTC)
INDEX_MAX_BYTES = 512  # equals pulse/storage/guard.py INDEX_TEXT_MAX_BYTES (a test checks it)
TIMESTAMP_MESSAGE = "items with a timestamp outside 1971-01-01..2200-01-01 were rejected"

# field -> (max characters, also cut to INDEX_MAX_BYTES)
TRACE_TEXT: dict[str, tuple[int, bool]] = {
    "provider": (512, True),
    "model_requested": (512, True),
    "model_used": (512, True),
    "provider_request_id": (512, False),
    "finish_reason": (128, False),
    "session_id": (256, True),
}
SPAN_TEXT: dict[str, tuple[int, bool]] = {
    "session_id": (256, True),
    "event_type": (256, False),
    "status": (64, True),
    "tool_use_id": (512, True),
    "tool_name": (512, True),
    "cwd": (4096, False),
    "model": (512, False),
    "agent_name": (512, False),
}
TRACE_COUNTS = ("input_tokens", "output_tokens")
TRACE_FLOATS = ("cost_cents",)
SPAN_FLOATS = ("duration_ms",)


@dataclass
class Notes:
    """What the bounds did to a batch: counts by ``truncated/<field>`` and ``nulled/<field>``,
    and how many items were rejected (timestamps out of the window)."""

    counts: dict[str, int] = field(default_factory=dict)
    rejected: int = 0

    def add(self, action: str, name: str) -> None:
        key = f"{action}/{name}"
        self.counts[key] = self.counts.get(key, 0) + 1


def cut(text: str, max_chars: int, max_bytes: int | None) -> str:
    """``text`` within ``max_chars`` characters and ``max_bytes`` UTF-8 bytes."""
    out = text[:max_chars]
    if max_bytes is not None and len(out) > max_bytes // 4:
        raw = out.encode("utf-8", "surrogatepass")
        if len(raw) > max_bytes:
            out = raw[:max_bytes].decode("utf-8", "ignore")
    return out


def _not_finite(value: Any) -> bool:
    if isinstance(value, Decimal):
        return not value.is_finite()
    return isinstance(value, float) and not math.isfinite(value)


def in_window(ts: datetime) -> bool:
    return MIN_TIMESTAMP <= ts < MAX_TIMESTAMP


def bound_record(record: TraceRecord | SpanRecord, notes: Notes) -> TraceRecord | SpanRecord | None:
    """``record`` within the bounds (itself when nothing changed), or None when rejected."""
    if not in_window(record.timestamp):
        notes.rejected += 1
        return None
    is_trace = isinstance(record, TraceRecord)
    changes: dict[str, Any] = {}
    truncated: list[str] = []
    nulled: list[str] = []
    for name, (max_chars, indexed) in (TRACE_TEXT if is_trace else SPAN_TEXT).items():
        value = getattr(record, name)
        if isinstance(value, str) and len(value) > min(max_chars, INDEX_MAX_BYTES // 4):
            short = cut(value, max_chars, INDEX_MAX_BYTES if indexed else None)
            if short != value:
                changes[name] = short
                truncated.append(name)
    for name in TRACE_COUNTS if is_trace else ():
        value = getattr(record, name)
        if value is not None and value < 0:
            changes[name] = None
            nulled.append(f"{name}: negative")
    for name in TRACE_FLOATS if is_trace else SPAN_FLOATS:
        value = getattr(record, name)
        if value is not None and (_not_finite(value) or value < 0):
            changes[name] = None
            nulled.append(f"{name}: {'not finite' if _not_finite(value) else 'negative'}")
    if is_trace and (_not_finite(record.latency_ms) or record.latency_ms < 0):
        changes["latency_ms"] = 0.0
        nulled.append("latency_ms: not finite or negative")
    if not changes:
        return record
    metadata = record.metadata
    # metadata may already be serialized text (records.RawJson) on some paths: decode it once
    metadata = dict(json.loads(metadata) if isinstance(metadata, str) else metadata or {})
    if truncated:
        metadata["pulse.truncated"] = truncated
    if nulled:
        metadata["pulse.nulled"] = nulled
    for name in truncated:
        notes.add("truncated", name)
    for reason in nulled:
        notes.add("nulled", reason.split(":", 1)[0])
    return replace(record, **changes, metadata=metadata)


def bound_records(records: list[Any], notes: Notes) -> list[Any]:
    """Every record of ``records`` within the bounds; rejected ones left out (counted)."""
    out = []
    for record in records:
        bounded = bound_record(record, notes)
        if bounded is not None:
            out.append(bounded)
    return out
