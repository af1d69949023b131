"""Peak RSS of ``serve`` (plus its mapping workers) under compressed or large OTLP/JSON bodies.

Starts ``pulse-bridge serve`` on a fresh database in the local PostgreSQL, sends ``--senders``
concurrent clients x 3 requests of one body, samples the process tree's RSS every 50 ms and
prints the baseline, the peak and the answer codes. Figures, never assertions (issue 11).

    python -m bench.hardening_rss gzip              # 60 KiB gzip bodies inflating to 60 MiB
    python -m bench.hardening_rss large --senders 32  # 8 MiB plain bodies
    python -m bench.hardening_rss gzip PULSE_MAX_INFLIGHT_BYTES=134217728
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import subprocess
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg

from tests.support.cli import CLI, KEY, clean_env, free_port

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def tree_rss_mib(pid: int) -> int:
    pids, i, total = [pid], 0, 0
    while i < len(pids):
        for task in Path(f"/proc/{pids[i]}/task").glob("*"):
            with contextlib.suppress(OSError):
                pids += [int(x) for x in (task / "children").read_text().split()]
        i += 1
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total // 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("gzip", "large"))
    ap.add_argument("env", nargs="*", help="NAME=value settings for serve")
    ap.add_argument("--senders", type=int, default=16)
    args = ap.parse_args()
    name = f"pulse_rss_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(ADMIN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    port = free_port()
    env = clean_env(port)
    env.update(PULSE_DATABASE_URL=f"postgresql://postgres@127.0.0.1:5432/{name}",
               PULSE_MAPPING_WORKERS="2")
    env.update(dict(a.split("=", 1) for a in args.env))
    proc = subprocess.Popen([CLI, "--data-dir", f"/tmp/{name}", "serve"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out = ""
        for line in proc.stdout:
            out += line
            if "listening on http" in line:
                break
        key = KEY.search(out).group(0)
        size = 60 << 20 if args.mode == "gzip" else 8 << 20
        raw = b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"' + b"A" * size + b'"}]}]}]}'
        body = gzip.compress(raw, 9) if args.mode == "gzip" else raw
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        if args.mode == "gzip":
            headers["Content-Encoding"] = "gzip"
        peak, stop, codes = [0], threading.Event(), {}

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], tree_rss_mib(proc.pid))
                time.sleep(0.05)

        def send() -> None:
            with httpx.Client(timeout=120) as c:
                for _ in range(3):
                    r = c.post(f"http://127.0.0.1:{port}/v1/traces", content=body,
                               headers=headers)
                    codes[r.status_code] = codes.get(r.status_code, 0) + 1

        base = tree_rss_mib(proc.pid)
        threading.Thread(target=sample, daemon=True).start()
        senders = [threading.Thread(target=send) for _ in range(args.senders)]
        for t in senders:
            t.start()
        for t in senders:
            t.join()
        stop.set()
        print(f"{args.mode}: wire {len(body)} B, inflated {len(raw)} B, {args.senders} senders;"
              f" baseline RSS {base} MiB, peak {peak[0]} MiB (serve + workers); codes {codes}")
    finally:
        proc.terminate()
        proc.wait(60)
        with psycopg.connect(ADMIN, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
