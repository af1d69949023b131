"""OTLP/HTTP receiver: ``POST /v1/traces``, ``/v1/logs``, ``/v1/metrics`` (docs/otlp.md).

Transport only (after the Collector's ``otlphttp``): content negotiation, bounded body reading
and decompression (``body``), and the answer's encoding. The decompressed body goes, unparsed,
with its media type to the one ingest entry (:meth:`pulse.pipeline.Ingestor.ingest`), which
decodes and maps it once in a mapping worker - the same path the gRPC receiver takes, so both
transports store exactly the same rows.

Answers use the request's encoding (OTLP spec, "OTLP/HTTP Response"): protobuf in, protobuf out;
JSON in, JSON out. Errors: a serialized ``google.rpc.Status`` for protobuf requests; for JSON
requests the API's one error shape ``{"error": msg}`` extended with the ``code``/``message`` of a
``google.rpc.Status`` in JSON, so both readings hold. Status codes and retryability come from
:mod:`pulse.pipeline.status`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from google.protobuf import json_format
from google.protobuf.message import Message

from pulse.errors import PulseError, UnsupportedMediaType
from pulse.pipeline import Ingestor, OtlpExport, status
from pulse.receivers.body import BodyLimits, media_type, read_body
from pulse.receivers.otlp_answers import export_response
from pulse.records import ApiKeyInfo

log = logging.getLogger("pulse.receivers.otlp")

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(value: Any) -> Any:
    """``value`` with lone surrogates (which an error message may quote from a JSON body, and
    which UTF-8 cannot encode) replaced by U+FFFD, so the error answer itself cannot fail."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


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
        return Response(orjson.dumps(_scrub(body)), code, headers=headers, media_type=JSON)
    return Response(status.status_bytes(exc), code, headers=headers, media_type=PROTOBUF)


def otlp_router(
    ingestor: Ingestor,
    authenticate: Callable[..., Awaitable[ApiKeyInfo]],
    limits: BodyLimits,
) -> APIRouter:
    """``POST /v1/traces``, ``/v1/logs``, ``/v1/metrics`` over the one ingest entry."""
    router = APIRouter(tags=["otlp"])

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
            outcome = await ingestor.ingest(key.project_id, OtlpExport(signal, body, kind))
            return encode_message(export_response(signal, outcome), as_json)
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
