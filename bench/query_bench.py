"""Query latency benchmark against a running server (loopback only, bounded request counts).

    python bench/query_bench.py --url postgresql://postgres@127.0.0.1:5432/pulse_bench

Starts ``pulse-bridge serve`` on 127.0.0.1 (gRPC off) over the dataset built by
bench/gen_dataset.py (or uses ``--base-url`` of a server already running), then measures p50/p95
of: GET /v1/analytics over 30 days and over 1 day, GET /v1/analytics/spans over 1/7/30 days,
GET /v1/traces and GET /v1/spans with each single filter and limit=100 (plus a deep page),
GET /v1/sessions/:id, GET /v1/sessions (list).
Each case runs ``--warmup`` unmeasured requests, then ``--requests`` measured ones, sequentially;
``--only`` keeps the cases whose name contains one of the given words.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_url: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "PULSE_HTTP_ENDPOINT": f"127.0.0.1:{port}",
           "PULSE_GRPC_ENABLED": "false", "PULSE_CREATE_DEFAULT_PROJECT": "false",
           "PULSE_LOG_LEVEL": "warning", "PULSE_DATA_DIR": tempfile.mkdtemp(prefix="pbench-")}
    exe = os.path.join(os.path.dirname(sys.executable), "pulse-bridge")
    proc = subprocess.Popen([exe, "serve"], env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit("server did not start")


def measure(client: httpx.Client, path: str, params: dict, n: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        client.get(path, params=params).raise_for_status()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(path, params=params)
        out.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
    return out


def cases(client: httpx.Client) -> list[tuple[str, str, dict, float]]:
    now = datetime.now(UTC)
    iso = lambda t: t.isoformat(timespec="milliseconds")  # noqa: E731
    last = client.get("/v1/traces", params={"limit": 1}).json()["traces"][0]
    session = client.get("/v1/traces", params={"limit": 1, "offset": 5000}).json()["traces"]
    sid = next((t["sessionId"] for t in session if t["sessionId"]), "s0")
    span_sid = client.get("/v1/spans", params={"limit": 1}).json()["spans"][0]["sessionId"]
    thirty = {"date_from": iso(now - timedelta(days=30)), "date_to": iso(now)}
    one = {"date_from": iso(now - timedelta(days=1)), "date_to": iso(now)}
    week = {"date_from": iso(now - timedelta(days=7)), "date_to": iso(now)}
    return [
        ("analytics 30d", "/v1/analytics", thirty, 150),
        ("analytics 30d group_by=model", "/v1/analytics", {**thirty, "group_by": "model"}, 150),
        ("analytics 1d", "/v1/analytics", one, 50),
        ("analytics 1d group_by=hour", "/v1/analytics", {**one, "group_by": "hour"}, 50),
        ("analytics/spans 1d", "/v1/analytics/spans", one, 50),
        ("analytics/spans 7d", "/v1/analytics/spans", week, 100),
        ("analytics/spans 30d", "/v1/analytics/spans", thirty, 150),
        ("analytics/spans 30d group_by=hour", "/v1/analytics/spans",
         {**thirty, "group_by": "hour"}, 150),
        ("traces provider", "/v1/traces", {"provider": "anthropic", "limit": 100}, 30),
        ("traces model", "/v1/traces", {"model": "gpt-4o-mini", "limit": 100}, 30),
        ("traces status", "/v1/traces", {"status": "error", "limit": 100}, 30),
        ("traces session_id", "/v1/traces", {"session_id": sid, "limit": 100}, 30),
        ("traces date range", "/v1/traces", {**one, "limit": 100}, 30),
        ("traces no filter", "/v1/traces", {"limit": 100}, 30),
        ("traces no filter offset=10000", "/v1/traces", {"limit": 100, "offset": 10000}, 1000),
        ("spans no filter", "/v1/spans", {"limit": 100}, 30),
        ("spans session_id", "/v1/spans", {"session_id": span_sid, "limit": 100}, 30),
        ("spans source", "/v1/spans", {"source": "claude_code", "limit": 100}, 30),
        ("spans kind", "/v1/spans", {"kind": "agent_run", "limit": 100}, 30),
        ("spans tool_name", "/v1/spans", {"tool_name": "Bash", "limit": 100}, 30),
        ("spans status", "/v1/spans", {"status": "error", "limit": 100}, 30),
        ("spans date range", "/v1/spans", {**one, "limit": 100}, 30),
        ("session by id", f"/v1/sessions/{sid}", {}, 20),
        ("sessions list", "/v1/sessions", {"limit": 50}, 30),
        ("trace by id", f"/v1/traces/{last['traceId']}", {}, 20),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/pulse_bench")
    ap.add_argument("--base-url", help="a running server (else one is started)")
    ap.add_argument("--key-file", default="/tmp/pulse_bench_key")
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--only", nargs="*", help="run only cases whose name contains a word")
    args = ap.parse_args()
    key = Path(args.key_file).read_text(encoding="utf-8").split()[1]
    proc, base = (None, args.base_url) if args.base_url else start_server(args.url)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            print("| case | p50 ms | p95 ms | target p50 ms |\n|---|---|---|---|")
            for name, path, params, target in cases(client):
                if args.only and not any(word in name for word in args.only):
                    continue
                times = measure(client, path, params, args.requests, args.warmup)
                p50 = statistics.median(times)
                p95 = statistics.quantiles(times, n=20)[18]
                flag = "" if p50 < target else " (missed)"
                print(f"| {name} | {p50:.1f} | {p95:.1f} | < {target}{flag} |", flush=True)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
