"""Server time of every dashboard page on the analytics benchmark dataset (issue 7 target: under
300 ms each).

    python bench/pages_bench.py --url postgresql://postgres@127.0.0.1:5432/pulse_bench

Uses the dataset built by ``bench/gen_dataset.py`` (its first project). Adds one dashboard user
(``pages-bench@example.com``, admin of that project) and a browser session, then requests each
page in-process through the real ASGI app (``httpx.ASGITransport``: no network, the full
middleware/template/database path) ``--runs`` times after one warm-up, and prints p50 / p95 /
max per page. Bounded: every request has a 30 s timeout and the run stops after ``--runs``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx
import orjson

from pulse.api.app import create_app
from pulse.api.deps import SESSION_COOKIE, Services, make_authenticator
from pulse.storage import accounts, auth_sessions
from pulse.storage.db import open_pool

EMAIL = "pages-bench@example.com"


async def _setup(pool) -> tuple[str, str, str, str]:
    projects = await accounts.list_projects(pool)
    project_id = projects[0]["id"]
    user = await accounts.user_by_email(pool, EMAIL)
    if user is None:
        pw = await auth_sessions.hash_password("pages-bench-password")
        await accounts.create_user(pool, EMAIL, "Bench", pw)
        user = await accounts.user_by_email(pool, EMAIL)
    await accounts.add_member(pool, project_id, user["id"], "admin")
    token, _ = await auth_sessions.create_session(pool, user["id"], 3600)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT trace_id::text, session_id FROM pulse.traces WHERE project_id = %s"
            " AND session_id IS NOT NULL ORDER BY \"timestamp\" DESC LIMIT 1", (project_id,))
        trace_id, llm_session = await cur.fetchone()
        cur = await conn.execute(
            "SELECT session_id FROM pulse.spans WHERE project_id = %s"
            " ORDER BY \"timestamp\" DESC LIMIT 1", (project_id,))
        (agent_session,) = await cur.fetchone()
    base = f"/dashboard/p/{project_id}"
    return token, base, trace_id, orjson.dumps([llm_session, agent_session]).decode()


def pages(base: str, trace_id: str, sessions: list[str]) -> list[tuple[str, str]]:
    llm, agent = sessions
    return [
        ("overview 24h", f"{base}?range=24h"),
        ("overview 7d", base),
        ("overview 30d", f"{base}?range=30d"),
        ("traces (7d)", f"{base}/traces"),
        ("traces model filter", f"{base}/traces?model=gpt-4o&range=24h"),
        ("traces status=error page 3", f"{base}/traces?status=error&range=24h&page=3"),
        ("traces live fragment", f"{base}/traces/live"),
        ("trace detail", f"{base}/traces/{trace_id}"),
        ("sessions", f"{base}/sessions"),
        ("session detail (llm)", f"{base}/sessions/{llm}"),
        ("session detail (agent)", f"{base}/sessions/{agent}"),
        ("session timeline fragment", f"{base}/sessions/{agent}/timeline"),
        ("analytics 30d", f"{base}/analytics"),
        ("analytics 30d by model", f"{base}/analytics?group_by=model"),
        ("api keys", f"{base}/keys"),
        ("members", f"{base}/members"),
    ]


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/pulse_bench")
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    pool = open_pool(args.url, 10)
    await pool.open(wait=True)
    try:
        token, base, trace_id, sessions = await _setup(pool)
        app = create_app(Services(pool), make_authenticator(pool))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                     cookies={SESSION_COOKIE: token}, timeout=30) as c:
            print(f"{'page':32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  status")
            for name, path in pages(base, trace_id, orjson.loads(sessions)):
                times, status = [], None
                for i in range(args.runs + 1):
                    t0 = time.perf_counter()
                    r = await c.get(path)
                    elapsed = (time.perf_counter() - t0) * 1000
                    status = r.status_code
                    if i:  # first request warms caches and the connection
                        times.append(elapsed)
                times.sort()
                p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
                print(f"{name:32} {statistics.median(times):8.1f} {p95:8.1f} {times[-1]:8.1f}"
                      f"  {status}")
    finally:
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
