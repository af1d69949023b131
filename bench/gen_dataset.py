"""Build a benchmark dataset: N traces and N spans over the last D days, loaded with COPY.

    python bench/gen_dataset.py --url postgresql://postgres@127.0.0.1:5432/pulse_bench -n 10000000

Creates the database when missing, applies the migrations, creates a project and an API key
(written to ``--key-file``, default ``/tmp/pulse_bench_key``), then streams rows with COPY in time
order (secondary indexes are dropped during the load and rebuilt after, as a bulk load
should), and finally rebuilds the rollups from the raw rows (storage/rollups.py). Prints the
time of every phase. Data: 3 providers / 8 models, ~7 % errors, log-normal latencies, 30 % of
traces in sessions of ~20 calls; spans are Claude Code hook pairs (pre/post per tool call)
plus prompts and agent runs, in sessions of ~50 spans.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from pulse.storage import accounts, rollups
from pulse.storage.db import ensure_database, open_pool
from pulse.storage.migrate import migrate

MODELS = [("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("openai", "o3-mini"),
          ("anthropic", "claude-sonnet-4-5"), ("anthropic", "claude-haiku-4-5"),
          ("anthropic", "claude-opus-4-1"), ("openrouter", "meta-llama/llama-3.1-70b"),
          ("openrouter", "mistralai/mistral-large")]
TOOLS = ["Bash", "Read", "Edit", "Write", "Grep", "Glob", "WebFetch", "Task"]
TRACE_COLS = ("project_id, trace_id, \"timestamp\", session_id, latency_ms, provider,"
              " model_requested, model_used, request_body, input_tokens, output_tokens,"
              " status, cost_cents, metadata")
SPAN_COLS = ("project_id, span_id, \"timestamp\", session_id, duration_ms, source, kind,"
             " event_type, status, tool_use_id, tool_name, metadata")
CHUNK = 20_000


def _ts(t: datetime) -> str:
    return t.isoformat()


def trace_lines(project: str, n: int, start: datetime, span_s: float, seed: int):
    rnd = random.Random(seed)
    step = span_s / n
    for i in range(n):
        ts = start + timedelta(seconds=i * step + rnd.random() * step)
        provider, model = MODELS[int(rnd.paretovariate(1.2)) % len(MODELS)]
        session = f"s{i // 20}" if (i // 20) % 10 < 3 else "\\N"
        inp, out = rnd.randint(50, 8000), rnd.randint(10, 2000)
        status = "error" if rnd.random() < 0.07 else "success"
        body = ('{"model": "' + model + '", "messages": [{"role": "user", "content":'
                f' "question {i // 20}"}}]}}')
        yield (f"{project}\t{uuid.UUID(int=rnd.getrandbits(128))}\t{_ts(ts)}\t{session}\t"
               f"{rnd.lognormvariate(6.5, 0.8):.3f}\t{provider}\t{model}\t{model}\t{body}\t"
               f"{inp}\t{out}\t{status}\t{(inp * 0.00025 + out * 0.001):.6f}\t"
               '{"cost_source": "computed"}\n')


def span_lines(project: str, n: int, start: datetime, span_s: float, seed: int):
    rnd = random.Random(seed)
    step = span_s / n
    for i in range(n):
        ts = start + timedelta(seconds=i * step)
        session, pair = f"agent-{i // 50}", i // 2
        if i % 50 == 0:
            kind, event, tool, tuid, dur = "user_prompt", "user_prompt", "\\N", "\\N", "\\N"
        elif i % 50 == 49:
            kind, event, tool, tuid, dur = "agent_run", "stop", "\\N", "\\N", "60000"
        else:
            kind, tool, tuid = "tool_use", TOOLS[pair % len(TOOLS)], f"toolu_{pair}"
            event = "pre_tool_use" if i % 2 else "post_tool_use"
            dur = f"{rnd.lognormvariate(5, 1):.1f}" if event == "post_tool_use" else "\\N"
        status = "error" if rnd.random() < 0.03 else "success"
        yield (f"{project}\t{uuid.UUID(int=rnd.getrandbits(128))}\t{_ts(ts)}\t{session}\t{dur}"
               f"\tclaude_code\t{kind}\t{event}\t{status}\t{tuid}\t{tool}\t{{}}\n")


def _drop_indexes(conn, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'pulse'"
        " AND tablename = %s AND indexname NOT LIKE '%%pkey'", (table,)).fetchall()
    for name, _ in rows:
        conn.execute(f"DROP INDEX pulse.{name}")
    return [d for _, d in rows]


def load(conn, table: str, cols: str, lines) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY pulse.{table} ({cols}) FROM STDIN") as copy:
        buf: list[str] = []
        for line in lines:
            buf.append(line)
            if len(buf) >= CHUNK:
                copy.write("".join(buf))
                buf.clear()
        if buf:
            copy.write("".join(buf))


def phase(name: str, since: float) -> float:
    now = time.monotonic()
    print(f"{name}: {now - since:.1f} s", flush=True)
    return now


async def _project(url: str) -> tuple[uuid.UUID, str]:
    pool = open_pool(url, 2)
    await pool.open(wait=True)
    try:
        project_id = await accounts.create_project(pool, "bench")
        return project_id, (await accounts.create_key(pool, project_id, "bench")).key
    finally:
        await pool.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/pulse_bench")
    ap.add_argument("-n", type=int, default=10_000_000, help="traces, and as many spans")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--key-file", default="/tmp/pulse_bench_key")
    args = ap.parse_args()
    ensure_database(args.url)
    t0 = t = time.monotonic()
    migrate(args.url, "auto")
    project_id, key = asyncio.run(_project(args.url))
    with open(args.key_file, "w", encoding="utf-8") as f:
        f.write(f"{project_id} {key}\n")
    end = datetime.now(UTC)
    start, span_s = end - timedelta(days=args.days), args.days * 86400.0
    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        defs = _drop_indexes(conn, "traces") + _drop_indexes(conn, "spans")
        load(conn, "traces", TRACE_COLS, trace_lines(str(project_id), args.n, start, span_s, 1))
        t = phase(f"COPY {args.n} traces", t)
        load(conn, "spans", SPAN_COLS, span_lines(str(project_id), args.n, start, span_s, 2))
        t = phase(f"COPY {args.n} spans", t)
        conn.execute("SET maintenance_work_mem = '1GB'")
        for d in defs:
            conn.execute(d)
        t = phase(f"rebuild {len(defs)} indexes", t)
        with conn.transaction():
            for statement in rollups.rebuild_statements():
                conn.execute(statement)
        t = phase("rebuild rollups", t)
        conn.execute("VACUUM ANALYZE")
        t = phase("vacuum analyze", t)
    phase("total", t0)
    print(f"project {project_id}; key in {args.key_file}")


if __name__ == "__main__":
    main()
