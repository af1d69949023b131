"""Readable details of session steps: tool output as text with its line breaks (stdout and
stderr apart), rows as labelled fields without nulls. The raw JSON stays one click away in the
templates; these only choose how to show it."""

from __future__ import annotations

from typing import Any

import orjson

TEXT_KEYS = ("stdout", "stderr", "output", "content", "result", "text", "error", "message")
SKIP = {"metadata"}  # shown as its own fields
LABELS = {"spanId": "Span id", "sessionId": "Session", "parentSpanId": "Parent span",
          "eventType": "Event", "agentName": "Agent", "toolName": "Tool",
          "toolUseId": "Tool use id", "durationMs": "Duration (ms)", "otelTraceId": "OTel trace",
          "otelSpanId": "OTel span", "otelParentSpanId": "OTel parent span",
          "serviceName": "Service", "isInterrupt": "Interrupted", "cwd": "Working directory"}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _label(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    out = "".join(" " + c.lower() if c.isupper() else c for c in key).replace("_", " ")
    return out[:1].upper() + out[1:]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def text_blocks(value: Any) -> list[tuple[str, str]]:
    """(label, text) blocks of a tool's output: a string as it is; an object's stdout, stderr
    and other text fields each as its own block (real line breaks), other keys as JSON."""
    if _empty(value):
        return []
    if isinstance(value, str):
        return [("Output", value)]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [("Output", "\n".join(value))]
    if not isinstance(value, dict):
        return [("Output", _text(value))]
    blocks = [(_label(k), value[k]) for k in TEXT_KEYS
              if isinstance(value.get(k), str) and value[k] != ""]
    rest = {k: v for k, v in value.items()
            if not (k in TEXT_KEYS and isinstance(v, str)) and not _empty(v)}
    blocks += [(_label(k), _text(v)) for k, v in rest.items()]
    return blocks


def fields(row: Any) -> list[tuple[str, str]]:
    """(label, text) of a row's non-empty fields, its metadata's fields after them."""
    if not isinstance(row, dict):
        return [("Value", _text(row))] if not _empty(row) else []
    out = [(_label(k), _text(v)) for k, v in row.items() if k not in SKIP and not _empty(v)]
    meta = row.get("metadata")
    if isinstance(meta, dict):
        out += [(_label(k), _text(v)) for k, v in meta.items() if not _empty(v)]
    return out
