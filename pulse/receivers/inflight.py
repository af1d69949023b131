"""Bounding the request bytes in flight across all HTTP requests (ASGI middleware)."""

from __future__ import annotations

from collections.abc import Callable

from pulse.errors import Overloaded

CHARGE_KEY = "pulse.inflight.charge"  # scope entry: charge(n) counts n more bytes held


class InflightLimit:
    """ASGI middleware bounding the request bytes being processed at once (never an unbounded
    buffer). Every request in flight holds its body and decoded objects in memory: while the
    bytes in flight exceed ``max_bytes``, new requests with a body get 503 + Retry-After at
    once, before their body is read.

    What counts is what is **really held**, not what a client declares: body bytes as they are
    received, plus what decompression inflates them to (``read_body`` charges it through the
    ``pulse.inflight.charge`` scope entry). A client that sends headers with a huge
    ``Content-Length`` and then nothing holds nothing (and is cut off by the body read
    timeout); a gzip bomb is charged for its inflated size, not its 60 KiB on the wire.

    A request whose bytes push the total over the budget while others are in flight is
    refused mid-body (503 + Retry-After, :class:`OverBudget`); a request alone may exceed it
    (its size is bounded by the body limits).
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
        if self.used >= self.max_bytes:
            if self.on_reject:
                self.on_reject()
            await _overloaded(send)
            return
        held = 0

        def charge(n: int) -> None:
            nonlocal held
            held += n
            self.used += n
            if self.used > self.max_bytes and self.used > held:  # others hold bytes too
                if self.on_reject:
                    self.on_reject()
                raise OverBudget("Too many requests in flight, retry later")

        async def counting_receive():
            message = await receive()
            if message["type"] == "http.request":
                charge(len(message.get("body", b"")))
            return message

        started = False

        async def watching_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        scope[CHARGE_KEY] = charge
        try:
            await self.app(scope, counting_receive, watching_send)
        except OverBudget:  # an app without an error handler for it (the API has one)
            if started:
                raise
            await _overloaded(send)
        finally:
            self.used -= held


class OverBudget(Overloaded):
    """The bytes in flight went over the budget while this request's body was arriving."""


async def _overloaded(send) -> None:
    body = b'{"error":"Too many requests in flight, retry later"}'
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"application/json"), (b"retry-after", b"1"),
        (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
