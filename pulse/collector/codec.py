"""Records <-> bytes for the ingest queue.

One queue entry holds one ingest call: ``{"v": 1, "p": project_id, "at": unix seconds,
"t": [trace...], "s": [span...]}`` as JSON (orjson serialises the frozen dataclasses, UUIDs and
datetimes natively; Decimal costs travel as strings to keep their precision). ``at`` is when the
entry was accepted, for the ingest-to-commit lag metric.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

from pulse.records import OtelIdentity, Record, SpanRecord, TraceRecord

VERSION = 1


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class Entry:
    project_id: UUID
    accepted_at: float
    records: list[Record]


def encode(project_id: UUID, records: Sequence[Record], now: float | None = None) -> bytes:
    traces = [r for r in records if isinstance(r, TraceRecord)]
    spans = [r for r in records if isinstance(r, SpanRecord)]
    body = {"v": VERSION, "p": project_id, "at": now or time.time(), "t": traces, "s": spans}
    return orjson.dumps(body, default=_default)


def _otel(raw: dict[str, Any] | None) -> OtelIdentity:
    return OtelIdentity(**raw) if raw else OtelIdentity()


def _trace(d: dict[str, Any]) -> TraceRecord:
    d["trace_id"] = UUID(d["trace_id"])
    d["timestamp"] = datetime.fromisoformat(d["timestamp"])
    if d.get("cost_cents") is not None:
        d["cost_cents"] = Decimal(d["cost_cents"])
    d["otel"] = _otel(d.get("otel"))
    return TraceRecord(**d)


def _span(d: dict[str, Any]) -> SpanRecord:
    d["span_id"] = UUID(d["span_id"])
    d["timestamp"] = datetime.fromisoformat(d["timestamp"])
    if d.get("parent_span_id"):
        d["parent_span_id"] = UUID(d["parent_span_id"])
    d["otel"] = _otel(d.get("otel"))
    return SpanRecord(**d)


def decode(payload: bytes) -> Entry:
    """Inverse of :func:`encode`. Raises ValueError for anything that is not a valid entry."""
    try:
        body = orjson.loads(payload)
        if body.get("v") != VERSION:
            raise ValueError(f"unknown queue entry version {body.get('v')!r}")
        records: list[Record] = [_trace(t) for t in body["t"]]
        records += [_span(s) for s in body["s"]]
        return Entry(UUID(body["p"]), float(body["at"]), records)
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"corrupt queue entry: {exc}") from exc


def record_json(record: Record) -> str:
    """One record as JSON text (for the dead-letter table)."""
    return orjson.dumps(record, default=_default).decode("utf-8")
