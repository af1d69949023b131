"""OTLP/gRPC receiver: ``opentelemetry.proto.collector.{trace,logs,metrics}.v1`` ``Export``
(docs/otlp.md).

Transport only: the three Export services are registered with generic method handlers whose
request deserializer is the identity, so grpcio hands over the raw request bytes without parsing
them; they go to the one ingest entry (:meth:`pulse.pipeline.Ingestor.ingest`) as protobuf, are
decoded and mapped once in a mapping worker, and the Export response is serialized on the way
out. Authentication reads the ``authorization`` metadata (a key check passed in); error kinds
become status codes through :mod:`pulse.pipeline.status` - never an exception escaping as
``UNKNOWN``. A malformed request is ``INVALID_ARGUMENT``, like a 400 over HTTP.

The receive limit is ``max_message_bytes`` (the OTLP spec recommends accepting 64 MiB; gRPC's own
default is 4 MiB); gRPC answers an over-limit message with ``RESOURCE_EXHAUSTED`` itself. gzip
request compression is handled by gRPC.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import grpc
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from pulse.errors import PulseError, Unauthorized
from pulse.pipeline import Ingestor, OtlpExport, status
from pulse.receivers.otlp_answers import export_response
from pulse.records import ApiKeyInfo

log = logging.getLogger("pulse.receivers.grpc")

AuthenticateToken = Callable[[str], Awaitable[ApiKeyInfo | None]]
MAX_SEND_BYTES = 4 * 1024 * 1024  # OTLP: responses stay under 4 MiB
GRACE_SECONDS = 5.0
PROTOBUF = "application/x-protobuf"

# signal -> full name of its Export service
SERVICES = {
    "traces": trace_service_pb2.DESCRIPTOR.services_by_name["TraceService"].full_name,
    "logs": logs_service_pb2.DESCRIPTOR.services_by_name["LogsService"].full_name,
    "metrics": metrics_service_pb2.DESCRIPTOR.services_by_name["MetricsService"].full_name,
}


def bearer(metadata: Any) -> str:
    """The token of an ``authorization: Bearer <token>`` metadata entry."""
    for key, value in metadata or ():
        if key.lower() == "authorization":
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            scheme, _, token = text.strip().partition(" ")
            token = token.strip()
            if scheme.lower() == "bearer" and token and " " not in token:
                return token
            break
    raise Unauthorized("Missing or invalid Authorization header")


def _raw(request: bytes) -> bytes:
    return request  # the worker decodes: grpcio must not parse the request


def _serialize(response: Message) -> bytes:
    return response.SerializeToString()


class GrpcReceiver:
    """The OTLP gRPC server as an async context manager."""

    def __init__(
        self,
        ingestor: Ingestor,
        authenticate_token: AuthenticateToken,
        *,
        host: str,
        port: int,
        max_message_bytes: int,
    ) -> None:
        self.ingestor = ingestor
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

    async def export(
        self, signal: str, request: bytes, context: grpc.aio.ServicerContext
    ) -> Message:
        """One ``Export`` call: authenticate, ingest the raw bytes, map errors to codes."""
        try:
            key = await self.authenticate(context.invocation_metadata())
            export = OtlpExport(signal, request, PROTOBUF)
            return export_response(signal, await self.ingestor.ingest(key.project_id, export))
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
        raise AssertionError("unreachable: context.abort raises")

    def _handlers(self) -> list[grpc.GenericRpcHandler]:
        return [
            grpc.method_handlers_generic_handler(service, {
                "Export": grpc.unary_unary_rpc_method_handler(
                    partial(self.export, signal),
                    request_deserializer=_raw,
                    response_serializer=_serialize,
                )
            })
            for signal, service in SERVICES.items()
        ]

    async def __aenter__(self) -> GrpcReceiver:
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", self.max_message_bytes),
                ("grpc.max_send_message_length", MAX_SEND_BYTES),
                ("grpc.so_reuseport", 0),
            ],
            compression=None,
        )
        server.add_generic_rpc_handlers(self._handlers())
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
