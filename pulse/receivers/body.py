"""Reading an HTTP request body within bounds: the wire size (Content-Length and streamed or
chunked bodies), gzip/deflate decompression with a bound on the inflated size (zip bombs), and
the request's media type. Shared by the native and the OTLP/HTTP receivers."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from fastapi import Request

from pulse.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType


@dataclass(frozen=True, slots=True)
class BodyLimits:
    max_body_bytes: int
    max_decompressed_bytes: int


def media_type(request: Request) -> str:
    """The request's media type, lowercased, without parameters ('' when absent)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_body(request: Request, limits: BodyLimits) -> bytes:
    """The request body, decompressed, never more than the configured bounds (413 otherwise)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise PayloadTooLarge(f"Request body exceeds {limits.max_body_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # also covers chunked transfer encoding
        size += len(chunk)
        if size > limits.max_body_bytes:
            raise PayloadTooLarge(f"Request body exceeds {limits.max_body_bytes} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    return decompress(body, encoding, limits.max_decompressed_bytes)


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
