"""HTTP transport for ingest: the native Pulse routes (SPEC.md §3).

Only transport concerns live here: bounded body reading (Content-Length and streamed/chunked
bodies, gzip/deflate with a bound on the inflated size), media types, authentication (a callable
passed in), decoding via ``mapping`` and the answer's shape. Records go to the shared
:class:`Ingestor`; the rows for the ``/batch`` answers come from a read-back callable.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from pulse.collector.ingest import Ingestor
from pulse.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from pulse.mapping import parse_json_array, spans_from_json, traces_from_json
from pulse.records import ApiKeyInfo

Authenticate = Callable[..., Awaitable[ApiKeyInfo]]
ReadBack = Callable[[UUID, str, list[UUID]], Awaitable[dict[UUID, str]]]

JSON_TYPES = ("application/json", "text/json")


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


def _require_json(request: Request) -> None:
    kind = media_type(request)
    if kind and kind not in JSON_TYPES and not kind.endswith("+json"):
        raise UnsupportedMediaType(f"Unsupported Content-Type {kind!r}; send application/json")


def _json_list(rows: list[str]) -> str:
    return "[" + ",".join(rows) + "]"


def native_router(
    ingestor: Ingestor, authenticate: Authenticate, read_back: ReadBack, limits: BodyLimits
) -> APIRouter:
    """The four native ingest routes, wired to the shared ingest path."""
    router = APIRouter(tags=["ingest"])

    async def decode(request: Request, kind: str) -> list[Any]:
        _require_json(request)
        items = parse_json_array(await read_body(request, limits))
        try:
            return traces_from_json(items) if kind == "traces" else spans_from_json(items)
        except InvalidInput:
            ingestor.reject("validation", len(items))
            raise

    async def accept_async(request: Request, key: ApiKeyInfo, kind: str) -> Response:
        records = await decode(request, kind)
        count = await ingestor.ingest(key.project_id, records, wait="durable")
        return JSONResponse({"status": "queued", "count": count}, status_code=202)

    async def accept_batch(request: Request, key: ApiKeyInfo, kind: str) -> Response:
        records = await decode(request, kind)
        await ingestor.ingest(key.project_id, records, wait="commit")
        ids = list(
            dict.fromkeys(
                getattr(r, "trace_id" if kind == "traces" else "span_id") for r in records
            )
        )
        rows = await read_back(key.project_id, kind, ids)
        stored = _json_list([rows[i] for i in ids if i in rows])
        body = f'{{"count":{len(records)},"{kind}":{stored}}}'
        return Response(body, status_code=202, media_type="application/json")

    @router.post("/v1/traces/async", status_code=202)
    async def traces_async(request: Request, key: ApiKeyInfo = Depends(authenticate)) -> Response:
        return await accept_async(request, key, "traces")

    @router.post("/v1/traces/batch", status_code=202)
    async def traces_batch(request: Request, key: ApiKeyInfo = Depends(authenticate)) -> Response:
        return await accept_batch(request, key, "traces")

    @router.post("/v1/spans/async", status_code=202)
    async def spans_async(request: Request, key: ApiKeyInfo = Depends(authenticate)) -> Response:
        return await accept_async(request, key, "spans")

    @router.post("/v1/spans/batch", status_code=202)
    async def spans_batch(request: Request, key: ApiKeyInfo = Depends(authenticate)) -> Response:
        return await accept_batch(request, key, "spans")

    return router


class InflightLimit:
    """ASGI middleware bounding the request bytes being processed at once (SPEC.md §7: never an
    unbounded buffer). Under overload the disk queue absorbs what was accepted, but every request
    in flight also holds its body and decoded objects in memory: beyond ``max_bytes`` of request
    bodies in flight, new requests with a body get 503 + Retry-After at once, before their body
    is read. A request larger than the whole budget is still admitted when nothing else is in
    flight (its size is bounded by the body limit). Chunked bodies are counted as they stream.
    """

    def __init__(self, app, max_bytes: int, on_reject: Callable[[], None] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.on_reject = on_reject
        self.used = 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if self.used > 0 and self.used + declared > self.max_bytes:
            if self.on_reject:
                self.on_reject()
            await _overloaded(send)
            return
        held = declared
        self.used += held

        async def counting_receive():
            nonlocal held
            message = await receive()
            if message["type"] == "http.request":
                extra = max(0, len(message.get("body", b"")) - declared)
                held += extra
                self.used += extra
            return message

        try:
            await self.app(scope, counting_receive if declared == 0 else receive, send)
        finally:
            self.used -= held


def _content_length(scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def _overloaded(send) -> None:
    body = b'{"error":"Too many requests in flight, retry later"}'
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"application/json"), (b"retry-after", b"1"),
        (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
