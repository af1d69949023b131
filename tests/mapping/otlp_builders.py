"""Small programmatic OTLP builders for tests that need a shape no fixture has."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

T0 = 1_787_220_000_000_000_000


def kv(key: str, value: object) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def one_span(attrs: dict[str, Any], *, name: str = "chat", service: str = "app",
             scope: str = "") -> ExportTraceServiceRequest:
    """A request holding one root span with ``attrs`` (trace 0a.., span 01..)."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.append(kv("service.name", service))
    ss = rs.scope_spans.add()
    ss.scope.name = scope
    span = ss.spans.add(trace_id=b"\x0a" * 16, span_id=b"\x01" * 8, name=name,
                        start_time_unix_nano=T0, end_time_unix_nano=T0 + 1_000_000)
    span.attributes.extend(kv(k, v) for k, v in attrs.items())
    return req


def log_records(*records: dict[str, Any], scope: str = "com.anthropic.claude_code.events",
                service: str = "claude-code") -> ExportLogsServiceRequest:
    """A request holding one log record per attribute dict (body = ``claude_code.<event.name>``)."""
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    rl.resource.attributes.append(kv("service.name", service))
    sl = rl.scope_logs.add()
    sl.scope.name = scope
    for i, attrs in enumerate(records):
        rec = sl.log_records.add(time_unix_nano=T0 + i * 1_000_000)
        rec.body.string_value = f"claude_code.{attrs.get('event.name', 'x')}"
        rec.attributes.extend(kv(k, v) for k, v in attrs.items())
    return req


def chat_parent_with_child() -> ExportTraceServiceRequest:
    """A ``chat`` span (with summed usage) whose child is itself a ``chat`` span."""
    req = ExportTraceServiceRequest()
    spans = req.resource_spans.add().scope_spans.add().spans
    for span_id, parent, tokens in ((b"\x01" * 8, b"", 50), (b"\x02" * 8, b"\x01" * 8, 50)):
        span = spans.add(trace_id=b"\x0a" * 16, span_id=span_id, parent_span_id=parent,
                         name="chat gpt-4o", start_time_unix_nano=T0,
                         end_time_unix_nano=T0 + 1_000_000)
        span.attributes.extend([
            kv("gen_ai.operation.name", "chat"), kv("gen_ai.provider.name", "openai"),
            kv("gen_ai.request.model", "gpt-4o"), kv("gen_ai.usage.input_tokens", tokens),
            kv("gen_ai.usage.output_tokens", 5),
        ])
    return req
