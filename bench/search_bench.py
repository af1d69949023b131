"""Full-text search latency (``q=`` on GET /v1/traces and /v1/spans), in process, over the
storage functions the routes call (so: the database work, not HTTP).

    python bench/search_bench.py --url postgresql://postgres@127.0.0.1:5432/pulse_search_bench \
        -n 1000000 --requests 30

Creates the database if needed, migrates it, and (unless it already holds ``-n`` traces) loads
``n`` traces and ``n`` spans over 30 days into one project (plus 10 % into a second project, so
the index holds other projects' rows too), with prompts, outputs and tool inputs/outputs drawn
from a 20,000-word vocabulary (Zipf-like: a few common words, many rare ones). The search
indexes are dropped while loading and rebuilt after (as a bulk load would). Then measures p50 /
p95 of: a rare word, a common word, a two-word AND, a phrase, each on traces and on spans,
newest 50 first with the exact total; and a rare word combined with a date range. A phrase of
two common words (``--common-phrase``) takes minutes at 1M rows: phrase matches need each
candidate's document, which the expression index does not store.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from pulse.storage import queries
from pulse.storage.db import ensure_database, open_pool
from pulse.storage.migrate import migrate

VOCAB = 20_000

# word(i) = 'w' || i, i drawn so that low numbers are common: floor(VOCAB ^ random()) - 1
_WORD = f"('w' || (floor(power({VOCAB}, random())) - 1)::int)"


def _words(n: int) -> str:
    return f"(SELECT string_agg({_WORD}, ' ') FROM generate_series(1, {n}) WHERE g > 0)"


def load(url: str, project: uuid.UUID, other: uuid.UUID, n: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP INDEX IF EXISTS pulse.traces_search_idx")
        conn.execute("DROP INDEX IF EXISTS pulse.spans_search_idx")
        for pid, count in ((project, n), (other, n // 10)):
            t0 = time.time()
            for start in range(0, count, 100_000):
                stop = min(count, start + 100_000)
                conn.execute(f"""
                INSERT INTO pulse.traces (project_id, trace_id, "timestamp", latency_ms,
                    provider, model_requested, request_body, status, output_text, session_id)
                SELECT %s, gen_random_uuid(), now() - random() * interval '30 days', 500,
                       'openai', 'gpt-4o-mini',
                       jsonb_build_object('messages', jsonb_build_array(jsonb_build_object(
                           'role', 'user', 'content', {_words(40)}))),
                       'success', {_words(60)}, 'sess-' || (g %% 50000)
                FROM generate_series(%s::int, %s::int) g""", (pid, start + 1, stop))
                conn.execute(f"""
                INSERT INTO pulse.spans (project_id, span_id, "timestamp", session_id, source,
                    kind, event_type, tool_name, tool_input, tool_response)
                SELECT %s, gen_random_uuid(), now() - random() * interval '30 days',
                       'sess-' || (g %% 50000), 'claude_code', 'tool_use', 'post_tool_use',
                       'Bash', jsonb_build_object('command', {_words(12)}),
                       jsonb_build_object('stdout', {_words(50)}, 'stderr', {_words(5)})
                FROM generate_series(%s::int, %s::int) g""", (pid, start + 1, stop))
                print(f"  loaded {stop:,}/{count:,} of each ({time.time() - t0:.0f} s)",
                      flush=True)
        t0 = time.time()
        conn.execute("CREATE INDEX traces_search_idx ON pulse.traces"
                     " USING gin (pulse.trace_search_doc(request_body, output_text))")
        conn.execute("CREATE INDEX spans_search_idx ON pulse.spans"
                     " USING gin (pulse.span_search_doc(tool_input, tool_response, metadata))")
        conn.execute("ANALYZE pulse.traces")
        conn.execute("ANALYZE pulse.spans")
        print(f"  search indexes built in {time.time() - t0:.0f} s", flush=True)


async def run(url: str, n: int, requests: int, phrase: bool = False) -> None:
    ensure_database(url)
    migrate(url, "auto")
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT id FROM pulse.projects WHERE name LIKE 'search-bench-%%'"
                            " ORDER BY name").fetchall()
        if len(rows) == 2:
            project, other = rows[0][0], rows[1][0]
        else:
            project, other = uuid.uuid4(), uuid.uuid4()
            conn.execute("INSERT INTO pulse.projects (id, name) VALUES (%s, 'search-bench-a'),"
                         " (%s, 'search-bench-b')", (project, other))
        have = conn.execute("SELECT count(*) FROM pulse.traces WHERE project_id = %s",
                            (project,)).fetchone()[0]
    if have < n:
        print(f"loading {n:,} traces and {n:,} spans (+10 % in another project)...")
        load(url, project, other, n - have)
    now = datetime.now(UTC)
    cases = [("rare word", "w15000"), ("common word", "w3"), ("two words", "w40 w900"),
             ("rare phrase", '"w12000 w30"')]
    if phrase:  # a phrase of two common words: every candidate's document is recomputed
        cases.append(("common phrase", '"w1 w2"'))
    pool = open_pool(url, 2)
    await pool.open(wait=True)
    print(f"\n{'case':<34} {'p50 ms':>8} {'p95 ms':>8} {'total':>9}")
    try:
        for table in ("traces", "spans"):
            for label, q in cases + [("rare word, last 7 days", "w15000")]:
                ranged = label.endswith("days")
                f = dict(q=q, date_from=now - timedelta(days=7) if ranged else None,
                         date_to=now if ranged else None)
                filt = queries.TraceFilters(**f) if table == "traces" \
                    else queries.SpanFilters(**f)
                fn = queries.list_traces if table == "traces" else queries.list_spans
                times, total = [], 0
                for i in range(requests + 2):
                    t = time.perf_counter()
                    page = await fn(pool, project, filt, 50, 0)
                    if i >= 2:  # two warm-up runs
                        times.append((time.perf_counter() - t) * 1000)
                    total = page.total
                times.sort()
                p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
                print(f"{table + ' ' + label:<34} {statistics.median(times):>8.1f} "
                      f"{p95:>8.1f} {total:>9,}")
    finally:
        await pool.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--common-phrase", action="store_true",
                    help="also a phrase of two common words (minutes at 1M rows)")
    a = ap.parse_args()
    asyncio.run(run(a.url, a.n, a.requests, a.common_phrase))


if __name__ == "__main__":
    main()
