"""OTel ids and the deterministic Pulse record ids derived from them.

Re-exporting the same telemetry must never create a second row, so every Pulse id made from OTLP
data is a UUIDv5 of stable keys: the OTel trace and span id of a span, or for records without
one the keys the source itself uses (a Claude Code ``tool_use_id``, ``prompt.id``, ...), or for an
id-less log record a hash of its time and attributes. Storage then deduplicates on the id.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pulse.mapping.otlp.items import Item

# Fixed namespace for every Pulse id derived from OTel data. Never change it: ids must stay stable
# across versions so replays keep deduplicating.
PULSE_OTEL_NAMESPACE = uuid.UUID("9c4f3a52-6d1e-5b8a-a7c2-2f0e4d6b8a31")


def hex_id(raw: bytes, size: int) -> str | None:
    """Lowercase hex of an OTel id, or None when absent/invalid (wrong length or all zeros)."""
    if len(raw) != size or not any(raw):
        return None
    return raw.hex()


def otel_uuid(trace_hex: str, span_hex: str) -> uuid.UUID:
    """Pulse id of the record made from OTel span ``span_hex`` of trace ``trace_hex``."""
    return uuid.uuid5(PULSE_OTEL_NAMESPACE, f"otel/{trace_hex}/{span_hex}")


def key_uuid(*parts: str) -> uuid.UUID:
    """Pulse id derived from stable keys a source provides (tool_use_id, prompt.id, ...)."""
    return uuid.uuid5(PULSE_OTEL_NAMESPACE, "/".join(parts))


def record_uuid(item: Item) -> uuid.UUID:
    """The OTel span id, or for an id-less log record a hash of its time and attributes."""
    if item.trace_id and item.span_id:
        return otel_uuid(item.trace_id, item.span_id)
    digest = hashlib.sha256(
        json.dumps(item.attrs, sort_keys=True, default=str).encode("utf-8", "replace")
    ).hexdigest()
    return key_uuid("log", item.service_name or "", str(item.start_ns), digest)
