"""GET /v1/analytics/spans over rollups + raw edges equals a straightforward SQL computation over
the raw span rows (the pre-rollup implementation), for random data, ranges and group_by values.

Data: hook tool calls whose pre/post halves share a tool_use_id and arrive in separate write
batches (sometimes redelivered, sometimes hours apart, sometimes only one half), OTel-like single
rows, prompts and agent runs, durations present or absent, sessions spanning hours.
"""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulse.records import SpanRecord
from pulse.storage import analytics_spans, rollups, writer
from tests.conftest import make_project

T0 = datetime(2026, 4, 1, tzinfo=UTC)
SPAN_S = 14 * 3600
TOOLS = ["Bash", "Read", "Edit", "Grep"]

_S = """WITH s AS (SELECT * FROM pulse.spans
    WHERE project_id = %(p)s AND "timestamp" >= %(f)s AND "timestamp" <= %(t)s)"""
_UNITS = _S + """, units AS (
    SELECT 'tool_use' AS kind, max(tool_name) AS tool_name,
           CASE WHEN bool_or(status = 'error') THEN 'error'
                WHEN bool_or(status = 'success') THEN 'success' END AS status,
           coalesce(max(duration_ms), CASE WHEN count(*) > 1 THEN
               extract(epoch FROM max("timestamp") - min("timestamp")) * 1000 END) AS duration
    FROM s WHERE kind = 'tool_use' GROUP BY coalesce(tool_use_id, span_id::text)
    UNION ALL
    SELECT kind, tool_name, status, duration_ms FROM s WHERE kind <> 'tool_use')"""
_REF = {
    "summary": _UNITS + """
        SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM s r WHERE kind = 'agent_run'
                AND NOT (event_type = 'subagent_stop' AND EXISTS (  -- a hooks sub-agent: 1 run
                    SELECT 1 FROM s b WHERE b.session_id = r.session_id
                      AND b.event_type = 'subagent_start'
                      AND b.metadata->'agent_id' = r.metadata->'agent_id'))),
               count(*) FILTER (WHERE kind = 'tool_use'), count(*), avg(duration),
               count(*) FILTER (WHERE status = 'success'), count(*) FILTER (WHERE status = 'error'),
               (SELECT avg(d) FROM (SELECT extract(epoch FROM max("timestamp")
                - min("timestamp")) * 1000 AS d FROM s GROUP BY session_id) x)
        FROM units""",
    "top": _UNITS + """SELECT tool_name, count(*) FROM units
        WHERE kind = 'tool_use' AND tool_name IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10""",
    "kind": _S + " SELECT kind, count(*) FROM s GROUP BY 1 ORDER BY 2 DESC, 1",
    "source": _S + " SELECT source, count(*) FROM s GROUP BY 1 ORDER BY 2 DESC, 1",
    "over": _S + """ SELECT to_char("timestamp" AT TIME ZONE 'UTC', %(fmt)s), count(*) FROM s
        GROUP BY 1 ORDER BY 1""",
}


def _at(rnd: random.Random) -> datetime:
    return T0 + timedelta(microseconds=rnd.randrange(SPAN_S * 10**6))


def _span(rnd, ts, session, kind, event, **kw) -> SpanRecord:
    return SpanRecord(span_id=uuid.UUID(int=rnd.getrandbits(128)), session_id=session,
                      timestamp=ts, source=kw.pop("source", rnd.choice(["claude_code", "codex"])),
                      kind=kind, event_type=event, **kw)


def _dataset(seed: int, n: int) -> list[list[SpanRecord]]:
    """Write batches: halves of one call land in different batches; some rows are redelivered."""
    rnd = random.Random(seed)
    first, second = [], []
    sessions = [f"sess-{seed}-{i}" for i in range(rnd.randint(1, 6))]
    for i in range(n):
        session, ts, r = rnd.choice(sessions), _at(rnd), rnd.random()
        status = rnd.choice([None, "success", "success", "error"])
        dur = rnd.choice([None, round(rnd.uniform(0, 5000), 3)])
        if r < 0.15:
            first.append(_span(rnd, ts, session, "user_prompt", "user_prompt", status=status))
        elif r < 0.25:
            first.append(_span(rnd, ts, session, "agent_run", "stop", status=status,
                               duration_ms=dur))
        elif r < 0.3:  # a hooks sub-agent: start and stop share metadata.agent_id
            meta = {"agent_id": f"agent-{seed}-{i}"}
            later = ts + timedelta(seconds=rnd.uniform(0, 2 * 3600))
            pair = [_span(rnd, ts, session, "agent_run", "subagent_start", metadata=meta),
                    _span(rnd, later, session, "agent_run", "subagent_stop", metadata=meta)]
            first.extend(pair if r < 0.29 else pair[1:])
        elif r < 0.45:  # OTel-derived: one row per call
            first.append(_span(rnd, ts, session, "tool_use", "tool_use", source="otel",
                               tool_use_id=rnd.choice([None, f"otel-{seed}-{i}"]),
                               tool_name=rnd.choice(TOOLS), status=status, duration_ms=dur))
        else:  # hook pair: pre, post, or both (post up to 3 h later)
            tuid, tool = f"toolu-{seed}-{i}", rnd.choice(TOOLS + [None])
            later = ts + timedelta(seconds=rnd.choice([0, rnd.uniform(0, 120),
                                                       rnd.uniform(0, 3 * 3600)]))
            pre = _span(rnd, ts, session, "tool_use", "pre_tool_use", source="claude_code",
                        tool_use_id=tuid, tool_name=tool, status=rnd.choice([None, "success"]))
            post = _span(rnd, later, session, "tool_use", "post_tool_use", source="claude_code",
                         tool_use_id=tuid, tool_name=tool, status=status, duration_ms=dur)
            halves = [pre, post] if r < 0.8 else [pre] if r < 0.9 else [post]
            rnd.shuffle(halves)
            first.append(halves[0])
            second.extend(halves[1:])
    batches = [first[i::3] for i in range(3)] + [second]
    batches.append(rnd.sample(first + second, k=min(len(first + second), n // 4)))  # redelivery
    return batches


async def reference(pool, project_id, f, t, group_by) -> dict:
    fmt = "YYYY-MM-DD HH24:00:00" if group_by == "hour" else "YYYY-MM-DD"
    args = {"p": project_id, "f": f, "t": t, "fmt": fmt}
    async with pool.connection() as conn:
        out = {k: await (await conn.execute(sql, args)).fetchall() for k, sql in _REF.items()}
    total, runs, tools, units, avg_d, ok, err, avg_s = out["summary"][0]
    return {
        "totalSpans": total, "agentRuns": runs, "toolCalls": tools,
        "avgSessionDurationMs": float(avg_s or 0), "avgDurationMs": float(avg_d or 0),
        "successRate": 100.0 * ok / units if units else 0.0,
        "errorRate": 100.0 * err / units if units else 0.0,
        "topTools": [{"name": a, "count": b} for a, b in out["top"]],
        "spansByKind": [{"kind": a, "count": b} for a, b in out["kind"]],
        "spansBySource": [{"source": a, "count": b} for a, b in out["source"]],
        "spansOverTime": [{"period": a, "count": b} for a, b in out["over"]],
        "groupBy": group_by,
    }


_FLOATS = ("avgSessionDurationMs", "avgDurationMs", "successRate", "errorRate")


def assert_equal(got: dict, ref: dict) -> None:
    for key in _FLOATS:
        assert math.isclose(got[key], ref[key], rel_tol=1e-9, abs_tol=1e-6), (key, got, ref)
    assert {k: v for k, v in got.items() if k not in _FLOATS} == {
        k: v for k, v in ref.items() if k not in _FLOATS}


async def _check(pool, project_id, rnd: random.Random, ranges: int) -> None:
    for _ in range(ranges):
        f = T0 + timedelta(microseconds=rnd.randrange(-2 * 3600 * 10**6, SPAN_S * 10**6))
        if rnd.random() < 0.3:  # on the hour
            f = f.replace(minute=0, second=0, microsecond=0)
        t = f + timedelta(microseconds=rnd.choice([0, rnd.randrange(3600 * 10**6),
                                                   rnd.randrange(16 * 3600 * 10**6)]))
        if rnd.random() < 0.3:
            t = t.replace(minute=59, second=59, microsecond=999_999)
        group_by = rnd.choice([None, "day", "hour"])
        got = await analytics_spans.span_analytics(pool, project_id, f, t, group_by)
        assert_equal(got, await reference(pool, project_id, f, t, group_by))


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 80))
async def test_span_analytics_equal_raw_sql(pool, seed, n):
    project = await make_project(pool, f"span-analytics-{seed}-{n}")
    for batch in _dataset(seed, n):
        if batch:
            await writer.write_records(pool, [(project.id, r) for r in batch])
    await _check(pool, project.id, random.Random(seed), ranges=6)


async def test_rebuild_gives_the_same_rollups(pool):
    project = await make_project(pool, "span-analytics-rebuild")
    for batch in _dataset(11, 120):
        await writer.write_records(pool, [(project.id, r) for r in batch])
    q = """SELECT bucket, kind, tool_name, status, units, dur_n, round(dur_sum::numeric, 2)
           FROM pulse.span_units_hourly WHERE project_id = %s AND units <> 0 ORDER BY 1, 2, 3, 4"""
    async with pool.connection() as conn:
        before = await (await conn.execute(q, (project.id,))).fetchall()
        async with conn.transaction():
            for statement in rollups.rebuild_statements():
                await conn.execute(statement)
        after = await (await conn.execute(q, (project.id,))).fetchall()
    assert before == after
    await _check(pool, project.id, random.Random(5), ranges=10)


async def test_retention_keeps_span_analytics_exact(pool):
    """Rollups before the cutoff go; a call and a session straddling it stay exact."""
    from pulse.storage.retention import run_retention

    project, rnd = await make_project(pool, "span-analytics-retention"), random.Random(3)
    old, new = T0 - timedelta(hours=2), T0 + timedelta(hours=1)
    pre = _span(rnd, T0 - timedelta(minutes=10), "s1", "tool_use", "pre_tool_use",
                tool_use_id="straddle", tool_name="Bash", status="error")
    post = _span(rnd, T0 + timedelta(minutes=10), "s1", "tool_use", "post_tool_use",
                 tool_use_id="straddle", tool_name="Bash", status="success")
    rows = [pre, post, _span(rnd, old, "s1", "agent_run", "stop", duration_ms=5.0),
            _span(rnd, new, "s2", "tool_use", "tool_use", tool_name="Read", duration_ms=7.0)]
    for r in rows:
        await writer.write_records(pool, [(project.id, r)])
    await run_retention(pool, 0, now=T0 + timedelta(hours=5), project_id=project.id)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT (SELECT count(*) FROM pulse.span_units_hourly WHERE project_id = %(p)s"
            " AND bucket < %(c)s), (SELECT count(*) FROM pulse.span_tool_calls"
            " WHERE project_id = %(p)s AND last_ts < %(c)s)", {"p": project.id, "c": T0})
        assert await cur.fetchone() == (0, 0)
    for f in (T0, T0 + timedelta(minutes=5), T0 - timedelta(hours=3)):
        t = T0 + timedelta(hours=3)
        got = await analytics_spans.span_analytics(pool, project.id, f, t, "hour")
        assert_equal(got, await reference(pool, project.id, f, t, "hour"))
        assert got["errorRate"] == 0 and got["toolCalls"] == 2
