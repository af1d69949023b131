"""OpenTelemetry SDK wiring shared by the Python capture clients.

Traces and logs go through SEPARATE exporters (OTLP/HTTP protobuf, endpoint
from OTEL_EXPORTER_OTLP_ENDPOINT), the way the instrumentations' docs set them
up: a BatchSpanProcessor or a SimpleSpanProcessor (CAPTURE_SPAN_PROCESSOR=
batch|simple) and a BatchLogRecordProcessor. Providers are shut down by the
SDK's own atexit hooks, so the order of the last exports is the SDK's.

Older SDKs (<= 1.3x) also have the Events API that openai-v2 2.1b0 emits its
per-message events through; its docs set an EventLoggerProvider, so do we.
"""

import os

from opentelemetry import _logs, trace
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor


def setup(with_logs: bool = True) -> TracerProvider:
    resource = Resource.create()  # service.name from OTEL_SERVICE_NAME
    tracer_provider = TracerProvider(resource=resource)
    kind = os.environ.get("CAPTURE_SPAN_PROCESSOR", "batch")
    processor = SimpleSpanProcessor if kind == "simple" else BatchSpanProcessor
    tracer_provider.add_span_processor(processor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    if with_logs:
        logger_provider = LoggerProvider(resource=resource)
        logger_provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
        _logs.set_logger_provider(logger_provider)
        _set_event_logger_provider(logger_provider)
    return tracer_provider


def _set_event_logger_provider(logger_provider) -> None:
    try:
        from opentelemetry._events import set_event_logger_provider
        from opentelemetry.sdk._events import EventLoggerProvider
    except ImportError:  # the Events API is gone from current SDKs
        return
    set_event_logger_provider(EventLoggerProvider(logger_provider))
