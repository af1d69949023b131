"""Golden-fixture helpers: load an OTLP/JSON fixture, decode it (JSON or protobuf), map it, and
turn the records into the JSON shape of ``tests/data/otlp/<name>.expected.json``.

An expected file holds ``signal``, ``family`` (convention family, for the compatibility matrix),
``counts`` and the key fields of every record, in output order. Comparison
checks only the fields present in the expected file; ``metadata`` is compared as a subset.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from pulse.mapping import (
    decode_logs_request,
    decode_metrics_request,
    decode_traces_request,
    map_logs,
    map_metrics,
    map_traces,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "otlp"
JSON_CT, PROTO_CT = "application/json", "application/x-protobuf"

TRACE_KEYS = (
    "trace_id", "timestamp", "provider", "model_requested", "model_used", "provider_request_id",
    "request_body", "response_body", "input_tokens", "output_tokens", "output_text",
    "finish_reason", "status", "error", "cost_cents", "latency_ms", "session_id", "otel",
)
SPAN_KEYS = (
    "span_id", "parent_span_id", "session_id", "timestamp", "duration_ms", "source", "kind",
    "event_type", "status", "tool_use_id", "tool_name", "tool_input", "tool_response", "error",
    "model", "agent_name", "otel",
)
METADATA_KEYS = (
    "source", "content_format", "provider_raw", "finish_reason_raw", "cost_source",
    "session_inferred", "cache_read_input_tokens", "cache_creation_input_tokens",
    "reasoning_output_tokens", "total_tokens", "redacted", "rolled_up_usage", "decision",
    "system_fingerprint", "user_id", "app_metadata", "tags", "query_source", "effort",
    "client_request_id", "workflow", "prompt", "prompt_length", "request_id", "entity_input",
    "entity_output", "api_format", "model_family", "wait_ms", "exec_ms", "ttft_ms",
    "telemetry_metadata", "conversation_id", "message_id", "refusal",
    "cost_missing", "price_model",
)
METRIC_KEYS = ("name", "value", "timestamp", "temporality", "unit", "service_name", "attributes")


def fixtures() -> list[Path]:
    return sorted(p for p in DATA.glob("*.json") if not p.name.endswith(".expected.json"))


def expected_path(path: Path) -> Path:
    return path.with_name(path.stem + ".expected.json")


def signal_of(data: dict[str, Any]) -> str:
    if "resourceSpans" in data:
        return "traces"
    if "resourceLogs" in data:
        return "logs"
    return "metrics"


_DECODERS = {
    "traces": decode_traces_request,
    "logs": decode_logs_request,
    "metrics": decode_metrics_request,
}


def decode(path: Path, via: str) -> tuple[str, Any]:
    """Decode a fixture as OTLP/JSON, or (via="protobuf") re-encoded as protobuf bytes."""
    body = path.read_bytes()
    signal = signal_of(json.loads(body))
    msg = _DECODERS[signal](body, JSON_CT)
    if via == "protobuf":
        msg = _DECODERS[signal](msg.SerializeToString(), PROTO_CT)
    return signal, msg


def mapped(path: Path, via: str = "json") -> dict[str, Any]:
    """The fixture's mapping in expected-file shape (all key fields)."""
    signal, msg = decode(path, via)
    if signal == "metrics":
        points, rejected, _ = map_metrics(msg)
        return {
            "signal": signal,
            "counts": {"metrics": len(points), "rejected": rejected},
            "metrics": [_pick(asdict(p), METRIC_KEYS) for p in points],
        }
    result = map_traces(msg) if signal == "traces" else map_logs(msg)
    return {
        "signal": signal,
        "counts": {
            "traces": len(result.traces),
            "spans": len(result.spans),
            "rejected": result.rejected,
            "dropped": result.dropped,
        },
        "traces": [_record(asdict(t), TRACE_KEYS) for t in result.traces],
        "spans": [_record(asdict(s), SPAN_KEYS) for s in result.spans],
    }


def _record(raw: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    out = _pick(raw, keys)
    meta = raw.get("metadata") or {}
    out["metadata"] = jsonable({k: meta[k] for k in METADATA_KEYS if k in meta})
    return out


def _pick(raw: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: jsonable(raw.get(k)) for k in keys}


def jsonable(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def mismatches(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Differences, checking only what ``expected`` states (metadata: subset of keys)."""
    if isinstance(expected, dict) and isinstance(actual, dict) and where.endswith("metadata"):
        out = []
        for key, value in expected.items():
            out += mismatches(value, actual.get(key, "<missing>"), f"{where}.{key}")
        return out
    if isinstance(expected, dict) and isinstance(actual, dict) and _is_record_level(where):
        out = []
        for key, value in expected.items():
            out += mismatches(value, actual.get(key, "<missing>"), f"{where}.{key}")
        return out
    if isinstance(expected, list) and isinstance(actual, list) and _is_record_list(where):
        out = [f"{where}: {len(actual)} items, expected {len(expected)}"] if len(
            expected) != len(actual) else []
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            out += mismatches(e, a, f"{where}[{i}]")
        return out
    return [] if expected == actual else [f"{where}: expected {expected!r}, got {actual!r}"]


def _is_record_level(where: str) -> bool:
    return where in ("", "counts") or where.endswith("]")


def _is_record_list(where: str) -> bool:
    return where in ("traces", "spans", "metrics")
