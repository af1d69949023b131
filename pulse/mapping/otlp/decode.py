"""OTLP request bodies -> ``Export{Trace,Logs,Metrics}ServiceRequest`` messages.

Both encodings of OTLP/HTTP (opentelemetry-proto ``docs/specification.md``): binary protobuf, and
OTLP/JSON, whose ids are hex strings where protobuf's JSON mapping expects base64 (converted
here; base64 ids that some exporters send are tolerated). Unknown JSON fields are ignored.
Any decoding failure becomes :class:`pulse.errors.InvalidInput` (or ``UnsupportedMediaType`` for
an unknown content type); nothing else escapes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from pulse.errors import InvalidInput, UnsupportedMediaType

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

M = TypeVar("M", bound=Message)

# OTLP/JSON id fields (hex on the wire, bytes in protobuf): spans, links, log records, exemplars.
_ID_KEYS = frozenset(
    {"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"}
)
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})*$")


def decode_traces_request(body: bytes, content_type: str) -> ExportTraceServiceRequest:
    """Decode a ``/v1/traces`` body (protobuf or OTLP/JSON); InvalidInput on any failure."""
    return _decode(body, content_type, ExportTraceServiceRequest, "traces")


def decode_logs_request(body: bytes, content_type: str) -> ExportLogsServiceRequest:
    """Decode a ``/v1/logs`` body (protobuf or OTLP/JSON); InvalidInput on any failure."""
    return _decode(body, content_type, ExportLogsServiceRequest, "logs")


def decode_metrics_request(body: bytes, content_type: str) -> ExportMetricsServiceRequest:
    """Decode a ``/v1/metrics`` body (protobuf or OTLP/JSON); InvalidInput on any failure."""
    return _decode(body, content_type, ExportMetricsServiceRequest, "metrics")


def _decode(body: bytes, content_type: str, cls: type[M], signal: str) -> M:
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype == PROTOBUF:
        return _decode_protobuf(body, cls, signal)
    if ctype == JSON:
        return _decode_json(body, cls, signal)
    raise UnsupportedMediaType(
        f"unsupported content type {content_type!r}; use {PROTOBUF} or {JSON}"
    )


def _decode_protobuf(body: bytes, cls: type[M], signal: str) -> M:
    try:
        msg = cls()
        msg.ParseFromString(bytes(body))
    except Exception as exc:  # DecodeError, RecursionError, ... all mean "malformed"
        raise InvalidInput(f"invalid OTLP/protobuf {signal} request: {_short(exc)}") from None
    return msg


def _decode_json(body: bytes, cls: type[M], signal: str) -> M:
    try:
        data = json.loads(bytes(body))
    except (ValueError, RecursionError, TypeError) as exc:
        message = f"invalid OTLP/JSON {signal} request: not JSON ({_short(exc)})"
        raise InvalidInput(message) from None
    if not isinstance(data, dict):
        raise InvalidInput(f"invalid OTLP/JSON {signal} request: the body must be a JSON object")
    try:
        data = _ids_to_base64(data, 0)
        return json_format.ParseDict(data, cls(), ignore_unknown_fields=True)
    except InvalidInput:
        raise
    except Exception as exc:  # ParseError, TypeError, RecursionError, ...
        raise InvalidInput(f"invalid OTLP/JSON {signal} request: {_short(exc)}") from None


def _ids_to_base64(node: Any, depth: int) -> Any:
    """OTLP/JSON ids are hex, protobuf's JSON mapping expects base64 for ``bytes``: convert.

    Empty id strings mean "absent" and are dropped. Base64 ids (12/24 chars) are tolerated because
    some exporters send them; anything else is invalid input.
    """
    if depth > 200:
        raise InvalidInput("OTLP/JSON request nested too deeply")
    if isinstance(node, list):
        return [_ids_to_base64(item, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _ID_KEYS and isinstance(value, str):
            if value == "":
                continue
            out[key] = _id_field(key, value)
        else:
            out[key] = _ids_to_base64(value, depth + 1)
    return out


def _id_field(key: str, value: str) -> str:
    if _HEX.match(value):
        return base64.b64encode(bytes.fromhex(value)).decode("ascii")
    if len(value) in (12, 24):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) in (8, 16):
            return value
    raise InvalidInput(f"invalid OTLP/JSON request: {key} {value[:40]!r} is not a hex id")


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
