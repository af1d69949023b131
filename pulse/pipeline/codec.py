"""Records <-> bytes: the format of one ingest queue entry.

One queue entry holds one ingest call: ``{"v": 3, "p": project_id, "at": unix seconds,
"t": [trace...], "s": [span...], "m": [metric point...]}`` as JSON (orjson serialises the frozen
dataclasses, UUIDs and datetimes natively; Decimal costs travel as strings to keep their
precision). ``at`` is when the entry was accepted, for the ingest-to-commit lag metric.

JSON-valued fields (bodies, tool input/output, error, metadata) travel as JSON *text*, and decode
to :class:`~pulse.records.RawJson`: decoding an entry then costs a string copy per field instead
of building kilobytes of message dicts that the writer would only serialize again. Encoding
happens where the records are made (often a mapping worker process), off the event loop.

Versions: 1 carried JSON fields decoded, 2 as text; 3 adds OTLP metric points (``m``). Older
entries left in a queue across an upgrade still decode; a version this code does not know is
refused (``ValueError``), so a downgrade dead-letters entries instead of silently dropping points.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

from pulse import row_shapes
from pulse.records import MetricPoint, OtelIdentity, RawJson, Record, SpanRecord, TraceRecord

VERSION = 3
# the record fields stored as jsonb, from the one column table (pulse/row_shapes.py)
TRACE_JSON_FIELDS = tuple(c.source for c in row_shapes.TRACES if c.json and c.source)
SPAN_JSON_FIELDS = tuple(c.source for c in row_shapes.SPANS if c.json and c.source)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class Entry:
    project_id: UUID
    accepted_at: float
    records: list[Record]
    points: list[MetricPoint] = field(default_factory=list)


def _as_text(record: Record, names: tuple[str, ...]) -> Record:
    """``record`` with its JSON fields as JSON text (RawJson), ready for the queue."""
    changes = {}
    for name in names:
        value = getattr(record, name)
        if value is not None and not isinstance(value, RawJson):
            changes[name] = RawJson(orjson.dumps(value).decode("utf-8"))
    return replace(record, **changes) if changes else record


def encode(
    project_id: UUID,
    records: Sequence[Record],
    points: Sequence[MetricPoint] = (),
    now: float | None = None,
) -> bytes:
    """One queue entry: ``project_id``'s records and metric points, accepted ``now``."""
    traces = [_as_text(r, TRACE_JSON_FIELDS) for r in records if isinstance(r, TraceRecord)]
    spans = [_as_text(r, SPAN_JSON_FIELDS) for r in records if isinstance(r, SpanRecord)]
    body = {"v": VERSION, "p": project_id, "at": now or time.time(), "t": traces, "s": spans,
            "m": list(points)}
    return orjson.dumps(body, default=_default)


def _otel(raw: dict[str, Any] | None) -> OtelIdentity:
    return OtelIdentity(**raw) if raw else OtelIdentity()


def _raw(d: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        value = d.get(name)
        if value is not None:
            d[name] = RawJson(value)


def _trace(d: dict[str, Any], raw: bool = True) -> TraceRecord:
    if raw:
        _raw(d, TRACE_JSON_FIELDS)
    d["trace_id"] = UUID(d["trace_id"])
    d["timestamp"] = datetime.fromisoformat(d["timestamp"])
    if d.get("cost_cents") is not None:
        d["cost_cents"] = Decimal(d["cost_cents"])
    d["otel"] = _otel(d.get("otel"))
    return TraceRecord(**d)


def _span(d: dict[str, Any], raw: bool = True) -> SpanRecord:
    if raw:
        _raw(d, SPAN_JSON_FIELDS)
    d["span_id"] = UUID(d["span_id"])
    d["timestamp"] = datetime.fromisoformat(d["timestamp"])
    if d.get("parent_span_id"):
        d["parent_span_id"] = UUID(d["parent_span_id"])
    d["otel"] = _otel(d.get("otel"))
    return SpanRecord(**d)


def _point(d: dict[str, Any]) -> MetricPoint:
    d["timestamp"] = datetime.fromisoformat(d["timestamp"])
    return MetricPoint(**d)


def decode(payload: bytes) -> Entry:
    """Inverse of :func:`encode`. Raises ValueError for anything that is not a valid entry."""
    try:
        body = orjson.loads(payload)
        version = body.get("v")
        if version not in (1, 2, VERSION):
            raise ValueError(f"unknown queue entry version {version!r}")
        # version 1 (before RawJson) carried decoded JSON values: still replayable after upgrade
        raw = version != 1
        records: list[Record] = [_trace(t, raw) for t in body["t"]]
        records += [_span(s, raw) for s in body["s"]]
        points = [_point(m) for m in body.get("m", ())]
        return Entry(UUID(body["p"]), float(body["at"]), records, points)
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"corrupt queue entry: {exc}") from exc


def record_json(record: Record | MetricPoint) -> str:
    """One record or metric point as JSON text (for the dead-letter table)."""
    return orjson.dumps(record, default=_default).decode("utf-8")
