"""OTLP/HTTP receiver: ``POST /v1/traces``, ``/v1/logs``, ``/v1/metrics`` (SPEC.md §5).

Transport only (DESIGN.md habit 4, after the Collector's ``otlphttp``): content negotiation,
bounded body reading, decoding via ``mapping.otlp``, the answer's encoding. What happens to the
decoded request - mapping, ingest, ``partial_success`` - is :class:`OtlpSink`, which the gRPC
receiver shares, so both transports store exactly the same rows.

Answers use the request's encoding (OTLP spec, "OTLP/HTTP Response"): protobuf in, protobuf out;
JSON in, JSON out. Errors: a serialized ``google.rpc.Status`` for protobuf requests; for JSON
requests the API's one error shape ``{"error": msg}`` extended with the ``code``/``message`` of a
``google.rpc.Status`` in JSON, so both readings hold. Status codes and retryability come from
:mod:`pulse.collector.status`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsPartialSuccess,
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from pulse.collector import status
from pulse.collector.http import BodyLimits, media_type, read_body
from pulse.collector.ingest import Ingestor
from pulse.collector.mapper import Mapped, Mapper
from pulse.errors import InvalidInput, PulseError, UnsupportedMediaType
from pulse.mapping import (
    decode_logs_request,
    decode_metrics_request,
    decode_traces_request,
    map_metrics,
)
from pulse.records import ApiKeyInfo, MetricPoint

log = logging.getLogger("pulse.collector.otlp")

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
WriteMetrics = Callable[[UUID, list[MetricPoint]], Awaitable[None]]
ARRAY_HINT = (
    "POST /v1/traces takes an OTLP ExportTraceServiceRequest object; "
    "use POST /v1/traces/async for native Pulse trace arrays"
)
_MAX_MESSAGE = 1000  # characters of partial_success.error_message


class OtlpSink:
    """Decoded OTLP export requests -> mapping -> the shared ingest path -> Export responses.

    Used by both transports. Only ``PulseError`` kinds escape (Overloaded / Retryable from the
    queue or the database, PayloadTooLarge for an oversized record).
    """

    def __init__(
        self, ingestor: Ingestor, write_metrics: WriteMetrics, *, keep_generic: bool = False,
        mapper: Mapper | None = None,
    ) -> None:
        self.ingestor = ingestor
        self.write_metrics = write_metrics
        self.keep_generic = keep_generic
        # Mapping runs in the mapper's worker processes when it has any (see mapper.py).
        self.mapper = mapper or Mapper(0, keep_generic=keep_generic)

    async def traces(
        self, project_id: UUID, req: ExportTraceServiceRequest
    ) -> ExportTraceServiceResponse:
        result = await self._map("traces", project_id, req)
        bad = await self._ingest(project_id, result)
        resp = ExportTraceServiceResponse()
        if bad or result.messages:
            resp.partial_success.CopyFrom(
                ExportTracePartialSuccess(rejected_spans=bad, error_message=_join(result.messages))
            )
        return resp

    async def logs(
        self, project_id: UUID, req: ExportLogsServiceRequest
    ) -> ExportLogsServiceResponse:
        result = await self._map("logs", project_id, req)
        bad = await self._ingest(project_id, result)
        resp = ExportLogsServiceResponse()
        if bad or result.messages:
            resp.partial_success.CopyFrom(
                ExportLogsPartialSuccess(
                    rejected_log_records=bad, error_message=_join(result.messages)
                )
            )
        return resp

    async def metrics(
        self, project_id: UUID, req: ExportMetricsServiceRequest
    ) -> ExportMetricsServiceResponse:
        points, rejected, messages = map_metrics(req)
        if rejected:
            self.ingestor.reject("otlp_invalid", rejected)
        if points:
            await self.write_metrics(project_id, points)
        resp = ExportMetricsServiceResponse()
        if rejected or messages:
            resp.partial_success.CopyFrom(
                ExportMetricsPartialSuccess(
                    rejected_data_points=rejected, error_message=_join(messages)
                )
            )
        return resp

    async def _map(self, signal: str, project_id: UUID, req: Message) -> Mapped:
        if not req.ByteSize():
            return Mapped(None, 0, 0, 0, 0)
        return await self.mapper.map(signal, req.SerializeToString(), PROTOBUF, project_id)

    async def _ingest(self, project_id: UUID, result: Mapped) -> int:
        """Make the mapped records durable; return how many items were rejected or dropped."""
        if result.rejected:
            self.ingestor.reject("otlp_invalid", result.rejected)
        if result.dropped:
            self.ingestor.reject("otlp_dropped", result.dropped)
        if result.payload is not None:
            await self.ingestor.ingest_payload(
                project_id, result.payload, result.traces, result.spans
            )
        return result.rejected + result.dropped


def _join(messages: list[str]) -> str:
    text = "; ".join(dict.fromkeys(messages))
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


# --- HTTP --------------------------------------------------------------------------------------

_DECODERS: dict[str, tuple[Callable[[bytes, str], Message], type[Message]]] = {
    "traces": (decode_traces_request, ExportTraceServiceRequest),
    "logs": (decode_logs_request, ExportLogsServiceRequest),
    "metrics": (decode_metrics_request, ExportMetricsServiceRequest),
}


def encode_message(msg: Message, as_json: bool) -> Response:
    """A 200 Export response in the request's encoding."""
    if as_json:
        body = json_format.MessageToJson(msg, indent=None, preserving_proto_field_name=False)
        return Response(body, status_code=200, media_type=JSON)
    return Response(msg.SerializeToString(), status_code=200, media_type=PROTOBUF)


def error_response(exc: PulseError, as_json: bool) -> Response:
    """An OTLP error answer: google.rpc.Status (protobuf), or the API error shape (JSON)."""
    code = status.http_status(exc)
    headers: dict[str, str] = {}
    delay = status.retry_after(exc)
    if delay is not None:
        headers["Retry-After"] = str(delay)
    if as_json:
        body: dict[str, Any] = exc.body()
        body["code"] = status.grpc_code(exc).value[0]
        body["message"] = exc.message
        return Response(orjson.dumps(body), code, headers=headers, media_type=JSON)
    return Response(status.status_bytes(exc), code, headers=headers, media_type=PROTOBUF)


def _decode(signal: str, body: bytes, kind: str) -> Message:
    decoder, cls = _DECODERS[signal]
    empty = not body.strip() if kind == JSON else not body
    if empty:
        return cls()  # an empty body is an empty (valid) export request
    if signal == "traces" and kind == JSON and body.lstrip()[:1] == b"[":
        raise InvalidInput(ARRAY_HINT)
    return decoder(body, kind)


def otlp_router(
    ingestor: Ingestor,
    authenticate: Callable[..., Awaitable[ApiKeyInfo]],
    limits: BodyLimits,
    write_metrics: WriteMetrics,
    *,
    keep_generic: bool = False,
    mapper: Mapper | None = None,
) -> APIRouter:
    """``POST /v1/traces``, ``/v1/logs``, ``/v1/metrics`` over the shared ingest path."""
    router = APIRouter(tags=["otlp"])
    sink = OtlpSink(ingestor, write_metrics, keep_generic=keep_generic, mapper=mapper)
    exporters = {"traces": sink.traces, "logs": sink.logs, "metrics": sink.metrics}

    async def export(request: Request, key: ApiKeyInfo, signal: str) -> Response:
        kind = media_type(request)
        as_json = kind != PROTOBUF  # JSON unless the client speaks protobuf
        try:
            if kind not in (PROTOBUF, JSON):
                raise UnsupportedMediaType(
                    f"Unsupported Content-Type {kind or '(none)'!r}; "
                    f"send {PROTOBUF} or {JSON}"
                )
            body = await read_body(request, limits)
            try:
                req = _decode(signal, body, kind)
            except InvalidInput:
                ingestor.reject("otlp_malformed", 1)
                raise
            return encode_message(await exporters[signal](key.project_id, req), as_json)
        except PulseError as exc:
            if exc.http_status >= 500:
                log.warning("OTLP %s export refused: %s", signal, exc.message)
            return error_response(exc, as_json)

    @router.post("/v1/traces", response_class=Response)
    async def otlp_traces(request: Request, key: ApiKeyInfo = Depends(authenticate)) -> Response:
        return await export(request, key, "traces")

    @router.post("/v1/logs", response_class=Response)
    async def otlp_logs(request: Request, key: ApiKeyInfo = Depends(authenticate)) -> Response:
        return await export(request, key, "logs")

    @router.post("/v1/metrics", response_class=Response)
    async def otlp_metrics(request: Request, key: ApiKeyInfo = Depends(authenticate)) -> Response:
        return await export(request, key, "metrics")

    return router
