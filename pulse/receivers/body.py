"""Reading an HTTP request body within bounds: the wire size (Content-Length and streamed or
chunked bodies), gzip/deflate decompression with a bound on the inflated size (zip bombs), and
the request's media type. Shared by the native and the OTLP/HTTP receivers."""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass

from fastapi import Request

from pulse.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from pulse.receivers.inflight import CHARGE_KEY


@dataclass(frozen=True, slots=True)
class BodyLimits:
    max_body_bytes: int
    max_decompressed_bytes: int
    read_timeout_s: float = 30.0  # the whole body must arrive within this (408 otherwise)


class RequestTimeout(InvalidInput):
    """The client did not send its body in time (a slow or held-open upload)."""

    http_status = 408


def media_type(request: Request) -> str:
    """The request's media type, lowercased, without parameters ('' when absent)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_body(request: Request, limits: BodyLimits) -> bytes:
    """The request body, decompressed, never more than the configured bounds (413 otherwise)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise PayloadTooLarge(f"Request body exceeds {limits.max_body_bytes} bytes")
    try:
        async with asyncio.timeout(limits.read_timeout_s):
            body = await _read(request, limits.max_body_bytes)
    except TimeoutError:
        raise RequestTimeout(
            f"Request body not received within {limits.read_timeout_s:g} s"
        ) from None
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    out = decompress(body, encoding, limits.max_decompressed_bytes)
    charge = request.scope.get(CHARGE_KEY)
    if charge is not None and out is not body:  # the inflated copy is held too
        charge(len(out))
    return out


async def _read(request: Request, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # also covers chunked transfer encoding
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"Request body exceeds {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """Inflate gzip/deflate bodies, refusing to produce more than ``limit`` bytes (zip bombs)."""
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":
        wbits = zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS  # zlib or raw
    else:
        raise UnsupportedMediaType(f"Unsupported Content-Encoding: {encoding}")
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
        if len(out) > limit or inflater.unconsumed_tail:
            raise PayloadTooLarge(f"Decompressed body exceeds {limit} bytes")
        if not inflater.eof:
            raise InvalidInput(f"Truncated {encoding} body")
    except zlib.error as exc:
        raise InvalidInput(f"Invalid {encoding} body: {exc}") from None
    return out
