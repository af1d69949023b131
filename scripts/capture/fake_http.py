"""Loopback HTTP server for the fake model APIs: JSON replies and chunked SSE streams.

Owns transport only. Routes map a path to a function ``(request_json, ids) ->
Reply``; fake_openai.py and fake_anthropic.py provide those functions. Every
request is kept (path, headers, body) so a capture run can show what the client
sent to its model.
"""

from __future__ import annotations

import json
import random
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    json: object | None = None
    # SSE events as (event name or None, data object or raw string)
    sse: list[tuple[str | None, object]] | None = None
    headers: dict[str, str] = field(default_factory=dict)


class Ids:
    """Realistic, reproducible ids: chatcmpl-..., msg_01..., toolu_01..., resp_..."""

    def __init__(self, seed: int = 7) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def token(self, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        with self._lock:
            return "".join(self._rng.choice(alphabet) for _ in range(n))

    def hex(self, n: int) -> str:
        return self.token(n, "0123456789abcdef")


Route = Callable[[dict, Ids], Reply]


class FakeServer:
    def __init__(self, routes: dict[str, Route], seed: int = 7) -> None:
        self.routes = routes
        self.ids = Ids(seed)
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                server._serve(self, {})

            def do_POST(self) -> None:  # noqa: N802
                raw = read_body(self)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                server._serve(self, body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _serve(self, h: BaseHTTPRequestHandler, body: dict) -> None:
        path = h.path.split("?", 1)[0]
        self.requests.append({"method": h.command, "path": h.path, "body": body})
        route = self.routes.get(path)
        reply = route(body, self.ids) if route else Reply(
            404, {"error": {"type": "not_found_error", "message": f"no fake route {path}"}}
        )
        if reply.sse is not None:
            _write_sse(h, reply)
        else:
            data = json.dumps(reply.json).encode()
            h.send_response(reply.status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            for k, v in reply.headers.items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)


def read_body(h: BaseHTTPRequestHandler) -> bytes:
    """The request body, whether sized by Content-Length or sent chunked (Node's fetch)."""
    if "chunked" not in h.headers.get("Transfer-Encoding", ""):
        return h.rfile.read(int(h.headers.get("Content-Length") or 0))
    parts = []
    while True:
        size = int(h.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            h.rfile.readline()  # the blank line after the last chunk (no trailers expected)
            return b"".join(parts)
        parts.append(h.rfile.read(size))
        h.rfile.readline()


def _write_sse(h: BaseHTTPRequestHandler, reply: Reply) -> None:
    h.send_response(reply.status)
    h.send_header("Content-Type", "text/event-stream")
    h.send_header("Cache-Control", "no-cache")
    h.send_header("Transfer-Encoding", "chunked")
    for k, v in reply.headers.items():
        h.send_header(k, v)
    h.end_headers()
    for event, data in reply.sse:
        text = data if isinstance(data, str) else json.dumps(data)
        frame = (f"event: {event}\n" if event else "") + f"data: {text}\n\n"
        chunk = frame.encode()
        h.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        h.wfile.flush()
    h.wfile.write(b"0\r\n\r\n")
    h.wfile.flush()
