"""Bounding the request bytes in flight across all HTTP requests (ASGI middleware)."""

from __future__ import annotations

from collections.abc import Callable


class InflightLimit:
    """ASGI middleware bounding the request bytes being processed at once (never an unbounded
    buffer). Under overload the disk queue absorbs what was accepted, but every request
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
