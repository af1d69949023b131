"""Ingest load generator: accepted spans/s, ack latency, time until queryable, server RSS.

    python bench/ingest_bench.py --mode otlp-http --concurrency 8 --batch 200 --requests 300
    python bench/ingest_bench.py --mode otlp-grpc ...
    python bench/ingest_bench.py --mode otlp-http-json ...   # OTLP/JSON bodies over HTTP
    python bench/ingest_bench.py --mode native ...
    python bench/ingest_bench.py --mode otlp-http --rate 6000 ...   # offered load (spans/s)

By default it starts its own server (``pulse-bridge serve``) in a subprocess against a fresh
database ``pulse_bench_ingest`` on ``--database-url`` (default: the local PostgreSQL), with a
temporary data directory, and drops the database afterwards; ``--url``/``--key`` target a running
server instead. Every span is unique (fresh ids), carries 1-2 KB of GenAI messages, and the run
ends by polling until every accepted span is queryable. Loopback only; request counts bounded.

Figures printed: accepted spans/s (acknowledged by the server), ack latency p50/p99, 503s,
time from the last acknowledgement until everything is queryable, and the server's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson
import psycopg
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

CLI = str(Path(sys.executable).with_name("pulse-bridge"))
WORDS = ("agent", "token", "latency", "invoice", "refund", "deploy", "cluster", "weather",
         "kubernetes", "postgres", "summary", "report", "customer", "query", "vector", "index")


def sentence(n: int) -> str:
    return " ".join(random.choice(WORDS) for _ in range(n))


def kv(key: str, value) -> common_pb2.KeyValue:
    if isinstance(value, bool):
        any_value = common_pb2.AnyValue(bool_value=value)
    elif isinstance(value, int):
        any_value = common_pb2.AnyValue(int_value=value)
    else:
        any_value = common_pb2.AnyValue(string_value=str(value))
    return common_pb2.KeyValue(key=key, value=any_value)


def genai_span(trace_id: bytes, now_ns: int) -> trace_pb2.Span:
    """A GenAI chat span (semconv 1.37+) with ~1.5 KB of input/output messages."""
    messages = orjson.dumps([
        {"role": "system", "parts": [{"type": "text", "content": sentence(40)}]},
        {"role": "user", "parts": [{"type": "text", "content": sentence(120)}]},
    ]).decode()
    output = orjson.dumps([{"role": "assistant", "finish_reason": "stop",
                            "parts": [{"type": "text", "content": sentence(60)}]}]).decode()
    start = now_ns - random.randint(200, 3000) * 1_000_000
    return trace_pb2.Span(
        trace_id=trace_id, span_id=secrets.token_bytes(8), name="chat gpt-4o",
        kind=trace_pb2.Span.SPAN_KIND_CLIENT, start_time_unix_nano=start,
        end_time_unix_nano=now_ns,
        attributes=[
            kv("gen_ai.operation.name", "chat"), kv("gen_ai.provider.name", "openai"),
            kv("gen_ai.request.model", "gpt-4o"), kv("gen_ai.response.model", "gpt-4o-2024-08-06"),
            kv("gen_ai.response.id", "chatcmpl-" + secrets.token_hex(8)),
            kv("gen_ai.usage.input_tokens", random.randint(200, 4000)),
            kv("gen_ai.usage.output_tokens", random.randint(20, 800)),
            kv("gen_ai.response.finish_reasons", "stop"),
            kv("gen_ai.conversation.id", f"conv-{random.randint(1, 500)}"),
            kv("gen_ai.input.messages", messages), kv("gen_ai.output.messages", output),
        ],
    )


def otlp_request(batch: int) -> bytes:
    now = time.time_ns()
    spans = [genai_span(secrets.token_bytes(16), now) for _ in range(batch)]
    resource = resource_pb2.Resource(attributes=[kv("service.name", "bench-app")])
    request = trace_service_pb2.ExportTraceServiceRequest(resource_spans=[trace_pb2.ResourceSpans(
        resource=resource, scope_spans=[trace_pb2.ScopeSpans(spans=spans)])])
    return request.SerializeToString()


def otlp_json_request(batch: int) -> bytes:
    """The same export as OTLP/JSON (what ``http/json`` exporters send)."""
    request = trace_service_pb2.ExportTraceServiceRequest.FromString(otlp_request(batch))
    return json_format.MessageToJson(request, indent=None).encode()


def native_request(batch: int) -> bytes:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    items = [{
        "trace_id": str(uuid.uuid4()), "timestamp": now, "provider": "openai",
        "model_requested": "gpt-4o", "model_used": "gpt-4o-2024-08-06",
        "request_body": {"model": "gpt-4o", "messages": [
            {"role": "system", "content": sentence(40)},
            {"role": "user", "content": sentence(120)},
        ]},
        "response_body": {"choices": [{"message": {"role": "assistant",
                                                   "content": sentence(60)}}]},
        "input_tokens": random.randint(200, 4000), "output_tokens": random.randint(20, 800),
        "status": "success", "latency_ms": random.randint(200, 3000),
        "session_id": f"conv-{random.randint(1, 500)}",
    } for _ in range(min(batch, 100))]  # the native API takes at most 100 items
    return orjson.dumps(items)


class Server:
    """``pulse-bridge serve`` in a subprocess on a fresh database."""

    def __init__(self, database_url: str, http_port: int, grpc_port: int,
                 extra_env: dict[str, str]) -> None:
        self.db_name = "pulse_bench_ingest"
        self.admin_url = database_url
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        base = database_url.rsplit("/", 1)[0]
        self.data_dir = tempfile.mkdtemp(prefix="pulse-bench-")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
        env.update(DATABASE_URL=f"{base}/{self.db_name}", PULSE_LOG_LEVEL="warning",
                   PULSE_HTTP_ENDPOINT=f"127.0.0.1:{http_port}",
                   PULSE_GRPC_ENDPOINT=f"127.0.0.1:{grpc_port}", **extra_env)
        self.proc = subprocess.Popen([CLI, "--data-dir", self.data_dir, "serve"], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out = ""
        while "Pulse Bridge listening on" not in out:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit("server failed to start:\n" + out)
            out += line
        self.key = re.search(r"pulse_sk_[A-Za-z0-9_-]+", out).group(0)
        self.url = f"http://127.0.0.1:{http_port}"
        self.grpc = f"127.0.0.1:{grpc_port}"
        self.peak_rss_mb = 0.0

    def sample_rss(self) -> None:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    self.peak_rss_mb = max(self.peak_rss_mb, int(line.split()[1]) / 1024)
        except OSError:
            pass

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')


HTTP_MODES = {  # mode -> (request builder, Content-Type, route)
    "otlp-http": (otlp_request, "application/x-protobuf", "/v1/traces"),
    "otlp-http-json": (otlp_json_request, "application/json", "/v1/traces"),
    "native": (native_request, "application/json", "/v1/traces/async"),
}


async def http_sender(args, url, key, bodies, results, pacer):
    _, kind, path = HTTP_MODES[args.mode]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": kind}
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        while bodies:
            body, count = bodies.pop()
            await pacer(count)
            for _ in range(50):  # like an OTLP exporter: retry 503s after Retry-After (bounded)
                started = time.perf_counter()
                r = await client.post(path, content=body, headers=headers)
                results.append((r.status_code, time.perf_counter() - started, count, time.time()))
                if r.status_code != 503:
                    break
                await asyncio.sleep(min(float(r.headers.get("retry-after", "1")), 1.0))


async def grpc_sender(args, target, key, bodies, results, pacer):
    import grpc

    async with grpc.aio.insecure_channel(target, options=[
            ("grpc.max_send_message_length", 64 << 20)]) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        metadata = (("authorization", f"Bearer {key}"),)
        while bodies:
            body, count = bodies.pop()
            request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
            await pacer(count)
            started = time.perf_counter()
            try:
                await stub.Export(request, metadata=metadata, timeout=60)
                code = 200
            except grpc.aio.AioRpcError as exc:
                code = 503 if exc.code() == grpc.StatusCode.UNAVAILABLE else 500
            results.append((code, time.perf_counter() - started, count, time.time()))


def make_pacer(rate: float | None):
    """Offered load: at most ``rate`` spans/s overall (None: as fast as acknowledgements allow)."""
    state = {"next": time.perf_counter()}

    async def pace(count: int) -> None:
        if not rate:
            return
        now = time.perf_counter()
        start = max(state["next"], now)
        state["next"] = start + count / rate
        if start > now:
            await asyncio.sleep(start - now)

    return pace


async def wait_queryable(url: str, key: str, expected: int, timeout: float = 300) -> float:
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        while time.perf_counter() - started < timeout:
            r = await client.get("/v1/traces", params={"limit": 1},
                                 headers={"Authorization": f"Bearer {key}"})
            if r.json()["total"] >= expected:
                return time.perf_counter() - started
            await asyncio.sleep(0.05)
    return float("nan")


async def commit_lag_p99(url: str) -> float | None:
    """p99 of pulse_ingest_commit_lag_seconds (accept -> commit) from the server's /metrics,
    as the upper bound of the histogram bucket holding the 99th percentile."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        text = (await client.get("/metrics")).text
    buckets = []
    for line in text.splitlines():
        m = re.match(r'pulse_ingest_commit_lag_seconds_bucket\{le="([^"]+)"\} ([0-9.e+]+)', line)
        if m:
            buckets.append((float(m.group(1)), float(m.group(2))))
    if not buckets or buckets[-1][1] == 0:
        return None
    total = buckets[-1][1]
    return next(le for le, n in buckets if n >= 0.99 * total)


async def run(args) -> None:
    server = None
    url, key, target = args.url, args.key, args.grpc_target
    if not url:
        extra = {}
        if args.mapping_workers is not None:
            extra["PULSE_MAPPING_WORKERS"] = str(args.mapping_workers)
        if args.queue_max_bytes is not None:
            extra["PULSE_QUEUE_MAX_BYTES"] = str(args.queue_max_bytes)
        for item in args.server_env:
            name, _, value = item.partition("=")
            extra[name] = value
        server = Server(args.database_url, args.http_port, args.grpc_port, extra)
        url, key, target = server.url, server.key, server.grpc
    make = otlp_request if args.mode == "otlp-grpc" else HTTP_MODES[args.mode][0]
    print(f"preparing {args.requests} requests of {args.batch} spans ({args.mode}) ...",
          flush=True)
    bodies = [(b, args.batch if args.mode != "native" else min(args.batch, 100))
              for b in (make(args.batch) for _ in range(args.requests))]
    size = sum(len(b) for b, _ in bodies) / len(bodies)
    results: list[tuple[int, float, int, float]] = []
    sender = grpc_sender if args.mode == "otlp-grpc" else http_sender
    dest = target if args.mode == "otlp-grpc" else url
    pacer = make_pacer(args.rate)
    sampling = True

    async def sample():
        while sampling and server:
            server.sample_rss()
            await asyncio.sleep(0.2)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    await asyncio.gather(*(sender(args, dest, key, bodies, results, pacer)
                           for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - started
    ok = [r for r in results if r[0] in (200, 202)]
    accepted = sum(r[2] for r in ok)
    lag = await wait_queryable(url, key, accepted) if accepted else 0.0
    lag_p99 = await commit_lag_p99(url)
    sampling = False
    await sampler
    lat = sorted(r[1] * 1000 for r in ok) or [0.0]
    rejected = sum(1 for r in results if r[0] == 503)
    others = sorted({r[0] for r in results} - {200, 202, 503})
    print(f"mode={args.mode} concurrency={args.concurrency} batch={args.batch} "
          f"mapping_workers={args.mapping_workers} "
          f"requests={len(results)} avg_body={size / 1024:.0f}KiB offered_rate={args.rate}")
    print(f"accepted spans/s     {accepted / elapsed:,.0f}  ({accepted} spans in {elapsed:.1f}s)")
    print(f"ack latency ms       p50 {statistics.median(lat):.1f}  "
          f"p99 {lat[min(len(lat) - 1, int(len(lat) * 0.99))]:.1f}")
    print(f"503 (backpressure)   {rejected}   other statuses {others}")
    print(f"queryable after      {lag:.2f}s from the last acknowledgement")
    print(f"accept->commit lag   p99 <= {lag_p99}s (server histogram bucket)")
    if server:
        print(f"server peak RSS      {server.peak_rss_mb:.0f} MB")
        server.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=("otlp-http", "otlp-http-json", "otlp-grpc", "native"),
                   default="otlp-http")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--batch", type=int, default=200, help="spans per request")
    p.add_argument("--requests", type=int, default=300, help="requests in total (bounded)")
    p.add_argument("--rate", type=float, default=None, help="offered spans/s (default: max)")
    p.add_argument("--url", help="target a running server (with --key) instead of starting one")
    p.add_argument("--key")
    p.add_argument("--grpc-target", default="127.0.0.1:4317")
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--mapping-workers", type=int, default=None,
                   help="PULSE_MAPPING_WORKERS for the spawned server (default: its own default)")
    p.add_argument("--queue-max-bytes", type=int, default=None,
                   help="PULSE_QUEUE_MAX_BYTES for the spawned server (small: see 503s sooner)")
    p.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                   help="extra environment for the spawned server (repeatable)")
    p.add_argument("--http-port", type=int, default=14318)
    p.add_argument("--grpc-port", type=int, default=14317)
    args = p.parse_args()
    if args.requests > 20000:
        raise SystemExit("--requests is bounded to 20000")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
