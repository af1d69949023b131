"""OTLP ``AnyValue`` and ``repeated KeyValue`` -> plain Python values (dict/list/str/int/...)."""

from __future__ import annotations

import base64
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

# Deeper nesting becomes None: a hostile body cannot make the conversion recurse without bound.
MAX_DEPTH = 64


def any_value(value: AnyValue, depth: int = 0) -> Any:
    """Plain Python value of an OTLP ``AnyValue`` (bytes become base64 text; too deep -> None)."""
    kind = value.WhichOneof("value")
    if kind is None or depth > MAX_DEPTH:
        return None
    if kind == "array_value":
        return [any_value(v, depth + 1) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value, depth + 1) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return getattr(value, kind)


def attributes(kvs: Any) -> dict[str, Any]:
    """``repeated KeyValue`` -> dict (a later duplicate key wins; empty keys are ignored)."""
    out: dict[str, Any] = {}
    for kv in kvs:
        kv_typed: KeyValue = kv
        if kv_typed.key:
            out[kv_typed.key] = any_value(kv_typed.value)
    return out
