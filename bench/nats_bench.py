"""Ingest throughput on the ``nats`` queue backend (1 and 2 ingest processes + 1 writer) against
the ``file`` queue (1 and 2 ``serve`` processes with their own data directory), one database.

For each setup: start the processes, send ``--requests`` native ``/v1/spans/async`` requests of
``--batch`` spans from ``--concurrency`` clients spread over the ingest processes, and report
acknowledged spans/s (ingest) and spans/s until every acknowledged span is in the database
(end to end). A ``nats-server -js`` of its own runs on a free port. Prints a Markdown table.

    python bench/nats_bench.py [--requests 400] [--batch 100] [--concurrency 8]

Figures are printed, never asserted (docs/architecture.md#tests); results in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

CLI = str(Path(sys.executable).with_name("pulse-bridge"))
KEY = re.compile(r"pulse_sk_[A-Za-z0-9_-]{20,}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nats(root: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([shutil.which("nats-server") or "/usr/sbin/nats-server", "-js",
                             "-a", "127.0.0.1", "-p", str(port), "-sd", str(root / "nats")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, f"nats://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nats-server did not start")


def serve(
    role: str, env_extra: dict[str, str], data_dir: Path
) -> tuple[subprocess.Popen, int, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env.update({"PULSE_HTTP_ENDPOINT": f"127.0.0.1:{port}", "PULSE_GRPC_ENABLED": "false",
                "PULSE_MAPPING_WORKERS": "0", **env_extra})
    proc = subprocess.Popen([CLI, "--data-dir", str(data_dir), "serve", "--role", role], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = ""
    while "listening on http" not in out:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"{role} did not start:\n{out}")
        out += line
    return proc, port, out


async def load(urls: list[str], key: str, args: argparse.Namespace) -> tuple[int, float]:
    headers = {"Authorization": f"Bearer {key}"}
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    body_spans = [[{"span_id": str(uuid.uuid4()), "session_id": f"bench-{n % 50}",
                    "timestamp": now, "duration_ms": 42, "source": "claude_code",
                    "kind": "tool_use", "event_type": "post_tool_use", "status": "success",
                    "tool_use_id": f"toolu_{n}", "tool_name": "Bash",
                    "tool_input": {"command": "ls -la"},
                    "tool_response": {"stdout": "README.md\n" * 20}, "cwd": "/work",
                    "model": "claude-sonnet-4-5", "agent_name": "main"}
                   for _ in range(min(args.batch, 100))]  # the native API takes <= 100 items
                  for n in range(args.requests)]
    todo = list(enumerate(body_spans))
    acked, refused = 0, []

    async def client(i: int) -> None:
        nonlocal acked
        async with httpx.AsyncClient(base_url=urls[i % len(urls)], timeout=30) as http:
            while todo:
                _, spans = todo.pop()
                r = await http.post("/v1/spans/async", json=spans, headers=headers)
                if r.status_code == 202:
                    acked += len(spans)
                else:
                    refused.append(f"{r.status_code} {r.text[:120]}")

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(args.concurrency)))
    if refused:
        print(f"{len(refused)} requests refused, e.g. {refused[0]}", file=sys.stderr)
    return acked, time.perf_counter() - started


def run_setup(name: str, backend: str, ingest_nodes: int, db: str, nats_url: str,
              root: Path, args: argparse.Namespace) -> tuple[str, int, float, float]:
    stream = f"BENCH{uuid.uuid4().hex[:8]}"
    env = {"DATABASE_URL": db, "PULSE_QUEUE_BACKEND": backend, "PULSE_NATS_URL": nats_url,
           "PULSE_NATS_STREAM": stream}
    procs, urls, key = [], [], None
    try:
        role = "ingest" if backend == "nats" else "all"
        if backend == "nats":
            proc, _, out = serve("writer", env, root / f"{name}-w")
            procs.append(proc)
            key = KEY.search(out)
        for i in range(ingest_nodes):
            proc, port, out = serve(role, env, root / f"{name}-{i}")
            procs.append(proc)
            urls.append(f"http://127.0.0.1:{port}")
            key = key or KEY.search(out)
        if key is None:
            with psycopg.connect(db) as conn:  # created by an earlier setup: read a fresh key
                raise SystemExit(f"no key printed ({conn.info.dbname})")
        started = time.perf_counter()
        acked, ingest_s = asyncio.run(load(urls, key.group(0), args))
        with psycopg.connect(db, autocommit=True) as conn:
            while conn.execute("SELECT count(*) FROM pulse.spans").fetchone()[0] < acked:
                time.sleep(0.05)
            conn.execute("TRUNCATE pulse.spans")
        return name, acked, ingest_s, time.perf_counter() - started
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.communicate(timeout=60)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=400)
    p.add_argument("--batch", type=int, default=100, help="spans per request")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--database-server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="pulse-nats-bench-"))
    nats, nats_url = start_nats(root)
    rows = []
    try:
        for name, backend, n in (("file x1", "file", 1), ("file x2", "file", 2),
                                 ("nats x1 + writer", "nats", 1),
                                 ("nats x2 + writer", "nats", 2)):
            db_name = f"pulse_nats_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.database_server, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{db_name}"')
            db = args.database_server.rsplit("/", 1)[0] + "/" + db_name
            try:
                rows.append(run_setup(name.replace(" ", ""), backend, n, db, nats_url, root,
                                      args) + (name,))
            finally:
                with psycopg.connect(args.database_server, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    finally:
        nats.terminate()
        nats.wait(30)
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n{args.requests} requests x {args.batch} spans, {args.concurrency} clients\n")
    print("| setup | spans acked | ingest spans/s | end-to-end spans/s |")
    print("|---|---|---|---|")
    for _, acked, ingest_s, total_s, label in rows:
        print(f"| {label} | {acked} | {acked / ingest_s:,.0f} | {acked / total_s:,.0f} |")


if __name__ == "__main__":
    main()
