"""What both OTLP receivers answer to an export: the signal's ``Export*ServiceResponse``, with
``partial_success`` when items were refused (docs/otlp.md, "Success and partial success")."""

from __future__ import annotations

from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from pulse.pipeline import Outcome

# signal -> (response message, the partial_success field counting refused items)
RESPONSES: dict[str, tuple[type[Message], str]] = {
    "traces": (ExportTraceServiceResponse, "rejected_spans"),
    "logs": (ExportLogsServiceResponse, "rejected_log_records"),
    "metrics": (ExportMetricsServiceResponse, "rejected_data_points"),
}
_MAX_MESSAGE = 1000  # characters of partial_success.error_message


def export_response(signal: str, outcome: Outcome) -> Message:
    """The Export response for ``outcome``: refused items and the reasons, if any."""
    cls, rejected_field = RESPONSES[signal]
    resp = cls()
    if outcome.rejected or outcome.messages:
        partial = resp.partial_success  # type: ignore[attr-defined]
        partial.SetInParent()
        setattr(partial, rejected_field, outcome.rejected)
        partial.error_message = join_messages(outcome.messages)
    return resp


def join_messages(messages: tuple[str, ...]) -> str:
    """Distinct reasons, in order, within the length OTLP clients log comfortably."""
    text = "; ".join(dict.fromkeys(messages))
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."
