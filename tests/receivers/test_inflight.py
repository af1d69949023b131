"""InflightLimit: request bodies in flight are bounded; the excess gets 503 + Retry-After."""

from __future__ import annotations

import asyncio

from pulse.receivers.inflight import InflightLimit


class HoldingApp:
    """Reads the whole body, then waits until released: keeps a request in flight."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.seen: list[int] = []

    async def __call__(self, scope, receive, send) -> None:
        size, more = 0, True
        while more:
            message = await receive()
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
        self.seen.append(size)
        await self.release.wait()
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def request(body: bytes, chunked: bool = False):
    headers = [] if chunked else [(b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "method": "POST", "path": "/v1/traces", "headers": headers}
    parts = [body[i:i + 100] for i in range(0, len(body), 100)] or [b""]
    messages = [{"type": "http.request", "body": p, "more_body": i < len(parts) - 1}
                for i, p in enumerate(parts)]

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    return scope, receive, send, sent


def status(sent: list[dict]) -> int | None:
    return next((m["status"] for m in sent if m["type"] == "http.response.start"), None)


async def test_excess_in_flight_gets_503_with_retry_after():
    app = HoldingApp()
    rejected = []
    limit = InflightLimit(app, max_bytes=1000, on_reject=lambda: rejected.append(1))
    first = request(b"x" * 600)
    task1 = asyncio.create_task(limit(*first[:3]))
    await asyncio.sleep(0.01)
    assert limit.used == 600
    second = request(b"y" * 600)
    await limit(*second[:3])  # refused as soon as its bytes go over the budget
    assert status(second[3]) == 503
    headers = dict(second[3][0]["headers"])
    assert headers[b"retry-after"] == b"1"
    assert app.seen == [600] and rejected == [1] and limit.used == 600
    third = request(b"z" * 300)  # fits beside the first
    task3 = asyncio.create_task(limit(*third[:3]))
    await asyncio.sleep(0.01)
    assert limit.used == 900
    app.release.set()
    await asyncio.gather(task1, task3)
    assert status(first[3]) == status(third[3]) == 202
    assert limit.used == 0  # everything released


async def test_chunked_bodies_are_counted_as_they_stream():
    app = HoldingApp()
    limit = InflightLimit(app, max_bytes=1000)
    chunked = request(b"c" * 800, chunked=True)
    task = asyncio.create_task(limit(*chunked[:3]))
    await asyncio.sleep(0.01)
    assert limit.used == 800
    late = request(b"d" * 300)
    await limit(*late[:3])
    assert status(late[3]) == 503
    app.release.set()
    await task
    assert limit.used == 0


async def test_declared_length_holds_nothing_until_bytes_arrive():
    """A client declaring a huge body and sending nothing must not block everyone else."""
    app = HoldingApp()
    limit = InflightLimit(app, max_bytes=1000)
    scope = {"type": "http", "method": "POST", "path": "/v1/traces",
             "headers": [(b"content-length", b"20000000")]}
    never = asyncio.Event()

    async def silent_receive():
        await never.wait()
        return {"type": "http.disconnect"}

    async def drop(message):
        pass

    holders = [asyncio.create_task(limit(scope, silent_receive, drop)) for _ in range(14)]
    await asyncio.sleep(0.01)
    assert limit.used == 0
    normal = request(b"n" * 500)
    app.release.set()
    await limit(*normal[:3])
    assert status(normal[3]) == 202
    for task in holders:
        task.cancel()
    await asyncio.gather(*holders, return_exceptions=True)
    assert limit.used == 0


async def test_inflated_bytes_are_charged():
    app = HoldingApp()
    limit = InflightLimit(app, max_bytes=1000)
    charges = []

    async def inflating_app(scope, receive, send):
        scope["pulse.inflight.charge"](900)  # what read_body does with the inflated copy
        charges.append(limit.used)
        await app(scope, receive, send)

    limit.app = inflating_app
    first = request(b"x" * 50)
    task = asyncio.create_task(limit(*first[:3]))
    await asyncio.sleep(0.01)
    assert limit.used == 950
    second = request(b"y" * 100)
    await limit(*second[:3])  # 950 + 900 inflated: over the budget
    assert status(second[3]) == 503
    app.release.set()
    await task
    assert limit.used == 0


async def test_a_single_large_request_is_admitted_when_alone_and_gets_do_not_count():
    app = HoldingApp()
    app.release.set()
    limit = InflightLimit(app, max_bytes=100)
    big = request(b"b" * 5000)
    await limit(*big[:3])
    assert status(big[3]) == 202
    get_scope = {"type": "http", "method": "GET", "path": "/v1/traces", "headers": []}
    _, receive, send, sent = request(b"")
    await limit(get_scope, receive, send)
    assert status(sent) == 202 and limit.used == 0
