"""OTLP/gRPC receiver: ``opentelemetry.proto.collector.{trace,logs,metrics}.v1`` ``Export``
(SPEC.md §5, MAPPING.md §7).

Transport only: read the ``authorization`` metadata, hand the already-decoded request to the
shared :class:`~pulse.collector.otlp_http.OtlpSink` (same mapping, ingest path and
``partial_success`` as OTLP/HTTP), and turn error kinds into status codes through
:mod:`pulse.collector.status` - never an exception escaping as ``UNKNOWN``.

The receive limit is ``max_message_bytes`` (the OTLP spec recommends accepting 64 MiB; gRPC's own
default is 4 MiB); gRPC answers an over-limit message with ``RESOURCE_EXHAUSTED`` itself. gzip
request compression is handled by gRPC.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from pulse.collector import status
from pulse.collector.ingest import Ingestor
from pulse.collector.mapper import Mapper
from pulse.collector.otlp_http import OtlpSink, WriteMetrics
from pulse.errors import PulseError, Unauthorized
from pulse.records import ApiKeyInfo

log = logging.getLogger("pulse.collector.grpc")

AuthenticateToken = Callable[[str], Awaitable[ApiKeyInfo | None]]
MAX_SEND_BYTES = 4 * 1024 * 1024  # OTLP: responses stay under 4 MiB
GRACE_SECONDS = 5.0


def bearer(metadata: Any) -> str:
    """The token of an ``authorization: Bearer <token>`` metadata entry (SPEC.md §2)."""
    for key, value in metadata or ():
        if key.lower() == "authorization":
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            scheme, _, token = text.strip().partition(" ")
            token = token.strip()
            if scheme.lower() == "bearer" and token and " " not in token:
                return token
            break
    raise Unauthorized("Missing or invalid Authorization header")


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, receiver: GrpcReceiver) -> None:
        self._receiver = receiver

    async def Export(self, request: Any, context: grpc.aio.ServicerContext) -> Any:  # noqa: N802
        return await self._receiver.export("traces", request, context)


class _LogsService(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, receiver: GrpcReceiver) -> None:
        self._receiver = receiver

    async def Export(self, request: Any, context: grpc.aio.ServicerContext) -> Any:  # noqa: N802
        return await self._receiver.export("logs", request, context)


class _MetricsService(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, receiver: GrpcReceiver) -> None:
        self._receiver = receiver

    async def Export(self, request: Any, context: grpc.aio.ServicerContext) -> Any:  # noqa: N802
        return await self._receiver.export("metrics", request, context)


class GrpcReceiver:
    """The OTLP gRPC server as an async context manager (DESIGN.md habit 6)."""

    def __init__(
        self,
        ingestor: Ingestor,
        authenticate_token: AuthenticateToken,
        write_metrics: WriteMetrics,
        *,
        host: str,
        port: int,
        max_message_bytes: int,
        keep_generic: bool = False,
        mapper: Mapper | None = None,
    ) -> None:
        self.sink = OtlpSink(ingestor, write_metrics, keep_generic=keep_generic, mapper=mapper)
        self._authenticate_token = authenticate_token
        self.host = host
        self.port = port
        self.max_message_bytes = max_message_bytes
        self._server: grpc.aio.Server | None = None

    async def authenticate(self, metadata: Any) -> ApiKeyInfo:
        info = await self._authenticate_token(bearer(metadata))  # may raise Retryable
        if info is None:
            raise Unauthorized("Invalid API key")
        return info

    async def export(self, signal: str, request: Any, context: grpc.aio.ServicerContext) -> Any:
        """One ``Export`` call: authenticate, hand over to the sink, map errors to codes."""
        try:
            key = await self.authenticate(context.invocation_metadata())
            return await getattr(self.sink, signal)(key.project_id, request)
        except PulseError as exc:
            error = exc
        except Exception:  # a bug must not surface as UNKNOWN with a stack trace
            log.exception("OTLP/gRPC %s export failed", signal)
            error = PulseError("Internal error")
        if error.http_status >= 500:
            log.warning("OTLP/gRPC %s export refused: %s", signal, error.message)
        await context.abort(
            status.grpc_code(error), error.message, status.trailing_metadata(error)
        )

    async def __aenter__(self) -> GrpcReceiver:
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", self.max_message_bytes),
                ("grpc.max_send_message_length", MAX_SEND_BYTES),
                ("grpc.so_reuseport", 0),
            ],
            compression=None,
        )
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceService(self), server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_LogsService(self), server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(
            _MetricsService(self), server
        )
        address = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        bound = server.add_insecure_port(address)
        if not bound:
            raise OSError(f"cannot listen for OTLP/gRPC on {address}")
        await server.start()
        self.port = bound
        self._server = server
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.stop(GRACE_SECONDS)
