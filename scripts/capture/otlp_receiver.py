"""Capturing OTLP/HTTP receiver: records every export request body, in arrival order.

Owns the receiving side of a capture run. Each POST to /v1/traces, /v1/logs or
/v1/metrics is appended to an in-memory list as (sequence, signal, body) with the
body already un-gzipped; ``write_captures`` then stores each request as
``NN-<signal>.pb`` (the protobuf body) and ``NN-<signal>.json`` (OTLP/JSON, ids as
hex, enums as integers - the shape of tests/data/otlp/*.json).

Bodies are scrubbed before they are written (see ``scrub``): temp-dir paths,
the host name and the OS user name are replaced by fixed placeholders. A
scrubbed ``.pb`` is the re-serialised scrubbed message; ``index.json`` says
which requests were changed that way.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from fake_http import read_body
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

SIGNALS = {
    "/v1/traces": ("traces", ExportTraceServiceRequest),
    "/v1/logs": ("logs", ExportLogsServiceRequest),
    "/v1/metrics": ("metrics", ExportMetricsServiceRequest),
}
ID_KEYS = {"traceId", "spanId", "parentSpanId"}


@dataclass
class Export:
    seq: int
    signal: str
    content_type: str
    content_encoding: str
    body: bytes
    received_at: float


class CaptureReceiver:
    """A threaded OTLP/HTTP server on loopback that keeps every request body."""

    def __init__(self, port: int = 0) -> None:
        self.exports: list[Export] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                path = self.path.split("?", 1)[0]
                body = read_body(self)
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                if path not in SIGNALS:
                    self._reply(404, b"")
                    return
                receiver._record(
                    SIGNALS[path][0], self.headers.get("Content-Type", ""), encoding, body
                )
                # An empty Export*ServiceResponse is a zero-length protobuf body.
                self._reply(200, b"")

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # keep capture output readable
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _record(self, signal: str, ctype: str, encoding: str, body: bytes) -> None:
        with self._lock:
            self.exports.append(
                Export(len(self.exports) + 1, signal, ctype, encoding, body, time.time())
            )

    def start(self) -> CaptureReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_quiet(self, quiet_s: float = 2.0, timeout_s: float = 30.0) -> None:
        """Wait until no export has arrived for ``quiet_s`` seconds."""
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            with self._lock:
                last = self.exports[-1].received_at if self.exports else 0.0
            if self.exports and time.time() - last >= quiet_s:
                return
            time.sleep(0.2)


def _ids_to_hex(node):
    """OTLP/JSON carries ids as hex; json_format renders bytes as base64."""
    if isinstance(node, dict):
        return {k: (base64.b64decode(v).hex() if k in ID_KEYS and isinstance(v, str)
                    else _ids_to_hex(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_ids_to_hex(v) for v in node]
    return node


def to_otlp_json(message) -> dict:
    return _ids_to_hex(
        json_format.MessageToDict(message, use_integers_for_enums=True)
    )


def scrub(message, replacements: list[tuple[str, str]], whole_values: dict[str, str]) -> bool:
    """Replace private strings in every string field of ``message``, in place.

    ``replacements`` are substrings (paths, host name); ``whole_values`` only
    replace a string that equals the key (a user name like "root" is too short to
    replace inside other text). Returns whether anything changed.
    """
    changed = False
    for field, value in message.ListFields():
        if field.type == field.TYPE_MESSAGE:
            items = value if field.is_repeated else [value]
            if field.message_type.GetOptions().map_entry:
                continue
            for item in items:
                changed |= scrub(item, replacements, whole_values)
        elif field.type == field.TYPE_STRING:
            if field.is_repeated:
                continue
            new = whole_values.get(value, value)
            for old, repl in replacements:
                new = new.replace(old, repl)
            if new != value:
                setattr(message, field.name, new)
                changed = True
    return changed


def write_captures(
    exports: list[Export],
    out_dir: Path,
    replacements: list[tuple[str, str]],
    whole_values: dict[str, str],
) -> list[dict]:
    """Write NN-<signal>.pb/.json files and index.json; return the index rows."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("[0-9][0-9]-*"):
        old.unlink()
    index = []
    for exp in exports:
        stem = f"{exp.seq:02d}-{exp.signal}"
        cls = _class_for(exp.signal)
        row = {"file": stem, "signal": exp.signal, "content_type": exp.content_type,
               "content_encoding": exp.content_encoding or None}
        if "protobuf" not in exp.content_type:
            (out_dir / f"{stem}.raw").write_bytes(exp.body)
            index.append(row | {"note": "not protobuf; stored raw"})
            continue
        message = cls.FromString(exp.body)
        scrubbed = scrub(message, replacements, whole_values)
        body = message.SerializeToString() if scrubbed else exp.body
        (out_dir / f"{stem}.pb").write_bytes(body)
        (out_dir / f"{stem}.json").write_text(
            json.dumps(to_otlp_json(message), indent=1, ensure_ascii=False) + "\n"
        )
        index.append(row | {"scrubbed": scrubbed, "bytes": len(body)})
    (out_dir / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    return index


def _class_for(signal: str):
    return next(cls for name, cls in SIGNALS.values() if name == signal)
