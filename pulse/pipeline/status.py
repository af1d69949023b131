"""The one table turning error kinds into OTLP answers: HTTP status and gRPC code (both
receivers use it; the table for users is in docs/otlp.md, "Errors").

Retryable vs permanent follows the OTLP specification (opentelemetry-proto
``docs/specification.md``, "Failures"), so exporters retry only what is worth retrying:

* HTTP: 429/502/503/504 are retryable (we send 503 with ``Retry-After``); every other status is
  permanent, so bad input answers 400/413/415 and the exporter drops the batch.
* gRPC: ``UNAVAILABLE`` is retryable; throttling is ``UNAVAILABLE`` plus a ``google.rpc.RetryInfo``
  detail in the ``grpc-status-details-bin`` trailer. ``RESOURCE_EXHAUSTED`` is retryable *only*
  with RetryInfo, so we use it without RetryInfo for "too large" (permanent), as gRPC itself does
  for an over-limit message. ``INVALID_ARGUMENT`` and ``UNAUTHENTICATED`` are permanent.

The ``google.rpc.Status`` body of OTLP error answers is encoded here by hand (three small
messages) so that the service needs no extra runtime dependency for it.
"""

from __future__ import annotations

import grpc

from pulse.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    PulseError,
    Retryable,
    Unauthorized,
    Unstorable,
    UnsupportedMediaType,
)

# (error kind, gRPC code). Subclasses come before their base class: the first match wins.
# The HTTP status is the kind's own ``http_status`` (pulse.errors), kept in step with this table.
_GRPC_CODES: tuple[tuple[type[PulseError], grpc.StatusCode], ...] = (
    (PayloadTooLarge, grpc.StatusCode.RESOURCE_EXHAUSTED),  # no RetryInfo: permanent
    (UnsupportedMediaType, grpc.StatusCode.INVALID_ARGUMENT),
    (InvalidInput, grpc.StatusCode.INVALID_ARGUMENT),
    (Unauthorized, grpc.StatusCode.UNAUTHENTICATED),
    (Forbidden, grpc.StatusCode.PERMISSION_DENIED),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (Overloaded, grpc.StatusCode.UNAVAILABLE),  # + RetryInfo (throttling)
    (Retryable, grpc.StatusCode.UNAVAILABLE),  # + RetryInfo
    (Unstorable, grpc.StatusCode.INVALID_ARGUMENT),  # the data itself is refused for good
)

RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"
STATUS_DETAILS_KEY = "grpc-status-details-bin"


def grpc_code(exc: PulseError) -> grpc.StatusCode:
    """The gRPC status code for an error kind (INTERNAL for anything unexpected)."""
    for kind, code in _GRPC_CODES:
        if isinstance(exc, kind):
            return code
    return grpc.StatusCode.INTERNAL


def http_status(exc: PulseError) -> int:
    """The HTTP status for an error kind on the OTLP routes."""
    return exc.http_status


def retry_after(exc: PulseError) -> int | None:
    """Seconds the client should wait before retrying, or None when it must not retry."""
    if isinstance(exc, (Overloaded, Retryable)):
        return max(0, int(exc.retry_after))
    return None


def status_bytes(exc: PulseError) -> bytes:
    """``google.rpc.Status`` (code, message, RetryInfo detail when retryable), serialized."""
    code = grpc_code(exc).value[0]
    out = _field_varint(1, code) if code else b""
    message = exc.message.encode("utf-8")
    if message:
        out += _field_bytes(2, message)
    delay = retry_after(exc)
    if delay is not None:
        duration = _field_varint(1, delay) if delay else b""  # google.protobuf.Duration.seconds
        retry_info = _field_bytes(1, duration)  # RetryInfo.retry_delay
        detail = _field_bytes(1, RETRY_INFO_TYPE.encode("ascii")) + _field_bytes(2, retry_info)
        out += _field_bytes(3, detail)  # Status.details (google.protobuf.Any)
    return out


def trailing_metadata(exc: PulseError) -> tuple[tuple[str, bytes], ...]:
    """gRPC trailers for an error: the rich status, so exporters see RetryInfo when throttled."""
    if retry_after(exc) is None:
        return ()
    return ((STATUS_DETAILS_KEY, status_bytes(exc)),)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _field_varint(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _field_bytes(number: int, value: bytes) -> bytes:
    return _varint((number << 3) | 2) + _varint(len(value)) + value
