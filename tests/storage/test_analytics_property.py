"""Acceptance 1: analytics over rollups + raw edges equal a straightforward SQL computation over
the raw rows, for random ranges, filters and group_by values, on both backends."""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulse.records import TraceRecord
from pulse.storage import analytics, writer
from tests.conftest import make_project

T0 = datetime(2026, 3, 1, tzinfo=UTC)
SPAN = timedelta(days=4)
MODELS = {"openai": ["gpt-4o", "gpt-4o-mini"], "anthropic": ["claude-sonnet-4-5", "gpt-4o"]}


def _records(n: int, seed: int) -> list[TraceRecord]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        provider = rnd.choice(list(MODELS))
        cost = rnd.choice([None, Decimal(rnd.randint(0, 10**7)) / 10**6])
        out.append(TraceRecord(
            trace_id=uuid.UUID(int=rnd.getrandbits(128)),
            timestamp=T0 + timedelta(microseconds=rnd.randrange(int(SPAN.total_seconds() * 1e6))),
            provider=provider,
            model_requested=rnd.choice(MODELS[provider]),
            request_body={"messages": [{"role": "user", "content": "hi"}]},
            status=rnd.choice(["success", "success", "error"]),
            latency_ms=math.exp(rnd.uniform(-2, 11)),
            input_tokens=rnd.choice([None, rnd.randint(0, 5000)]),
            output_tokens=rnd.choice([None, rnd.randint(0, 3000)]),
            cost_cents=cost,
            session_id=rnd.choice([None, *(f"s{i}" for i in range(40))]),
        ))
    return out


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def seeded(pool):
    """One project with ~600 traces over 4 days, written in batches with a redelivery."""
    project = await make_project(pool, "analytics-property")
    records = _records(600, seed=7)
    for i in range(0, len(records), 97):
        await writer.write_records(pool, [(project.id, r) for r in records[i:i + 97]])
    await writer.write_records(pool, [(project.id, r) for r in records[::5]])  # redelivery
    return project


# -- the reference: plain SQL over raw rows ---------------------------------------------------

def _where(q: analytics.AnalyticsQuery) -> tuple[str, list]:
    sql, args = ' AND "timestamp" >= %s AND "timestamp" <= %s', [q.date_from, q.date_to]
    if q.provider:
        sql, args = sql + " AND provider = %s", [*args, q.provider]
    if q.model:
        sql, args = sql + " AND model_requested = %s", [*args, q.model]
    return sql, args


async def _raw(pool, project_id, q, select: str, group: str = "") -> list[tuple]:
    where, args = _where(q)
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {select} FROM pulse.traces WHERE project_id = %s{where} {group}",
            [project_id, *args],
        )
        return await cur.fetchall()


def _period(group_by) -> str:
    fmt = "YYYY-MM-DD HH24:00:00" if group_by == "hour" else "YYYY-MM-DD"
    return f"""to_char("timestamp" AT TIME ZONE 'UTC', '{fmt}')"""


_TOTALS = """count(*), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
 coalesce(sum(cost_cents), 0), coalesce(avg(latency_ms), 0),
 coalesce(100.0 * count(*) FILTER (WHERE status = 'error') / nullif(count(*), 0), 0),
 count(DISTINCT session_id)"""


async def reference(pool, project_id, q) -> dict:
    (n, inp, out, cost, lat, err, sessions), = await _raw(pool, project_id, q, _TOTALS)
    over = await _raw(pool, project_id, q, f"{_period(q.group_by)}, provider, sum(coalesce("
                      "cost_cents, 0))", "GROUP BY 1, 2 ORDER BY 1, 2")
    by_provider = await _raw(pool, project_id, q, "provider, coalesce(sum(cost_cents), 0),"
                             " count(*)", "GROUP BY 1 ORDER BY 2 DESC, 1")
    top = await _raw(pool, project_id, q, "provider, model_requested, count(*), coalesce(sum("
                     "cost_cents), 0), avg(latency_ms), coalesce(sum(input_tokens), 0) +"
                     " coalesce(sum(output_tokens), 0), 100.0 * count(*) FILTER (WHERE status ="
                     " 'error') / count(*)", "GROUP BY 1, 2 ORDER BY 3 DESC, 4 DESC, 1, 2 LIMIT 10")
    groups = []
    if q.group_by:
        key = {"model": "model_requested", "provider": "provider"}.get(q.group_by)
        groups = await _raw(pool, project_id, q, f"{key or _period(q.group_by)}, {_TOTALS}",
                            "GROUP BY 1 ORDER BY 1")
    return {"totals": (n, inp, out, cost, lat, err, sessions), "over": over,
            "by_provider": by_provider, "top": top, "groups": groups}


# -- comparison --------------------------------------------------------------------------------

def close(a, b) -> bool:
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)


def _check_totals(got: dict, ref: tuple) -> None:
    n, inp, out, cost, lat, err, sessions = ref
    assert got["totalRequests"] == n
    assert got["totalTokens"] == {"input": inp, "output": out, "total": inp + out}
    assert close(got["totalCost"], cost)
    assert close(got["avgLatency"], lat)
    assert close(got["errorRate"], err)
    assert got["totalSessions"] == sessions


def _check_lists(got: dict, ref: dict) -> None:
    assert [(c["period"], c["provider"]) for c in got["costOverTime"]] == [
        (p, prov) for p, prov, _ in ref["over"]]
    pairs = zip(got["costOverTime"], ref["over"], strict=True)
    assert all(close(c["costCents"], r[2]) for c, r in pairs)
    assert [(c["provider"], c["requests"]) for c in got["costByProvider"]] == [
        (p, n) for p, _, n in ref["by_provider"]]
    assert [(m["provider"], m["model"], m["requests"], m["totalTokens"]) for m in got[
        "topModels"]] == [(p, m, n, t) for p, m, n, _, _, t, _ in ref["top"]]
    for m, r in zip(got["topModels"], ref["top"], strict=True):
        assert close(m["costCents"], r[3]) and close(m["avgLatency"], r[4])
        assert close(m["errorRate"], r[6])


def _check_groups(got: dict, ref: dict) -> None:
    assert [g["key"] for g in got["groups"]] == [r[0] for r in ref["groups"]]
    pairs = zip(got["groups"], ref["groups"], strict=True)
    for g, (_, n, inp, out, cost, lat, err, sessions) in pairs:
        assert (g["requests"], g["inputTokens"], g["outputTokens"]) == (n, inp, out)
        assert close(g["costCents"], cost) and close(g["avgLatency"], lat)
        assert close(g["errorRate"], err) and g["sessions"] == sessions


async def _check_percentiles(pool, project_id, q, got: dict, exact: bool) -> None:
    rows = await _raw(pool, project_id, q, "latency_ms", "ORDER BY 1")
    values = [r[0] for r in rows]
    pct = got["latencyPercentiles"]
    for name, quantile in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        if not values:
            assert pct[name] == 0
            continue
        k = quantile * (len(values) - 1)
        lo, hi = values[math.floor(k)], values[math.ceil(k)]
        if exact:  # percentile_cont: linear interpolation between the neighbours
            assert close(pct[name], lo + (hi - lo) * (k - math.floor(k)))
        else:  # histogram: documented bound (factor 2^(1/16), or 0.5 ms below 1 ms)
            assert lo * 0.957 - 0.5 <= pct[name] <= hi * 1.045 + 0.5


_instants = st.integers(min_value=-6 * 3600, max_value=int(SPAN.total_seconds()) + 6 * 3600)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=_instants, length=st.integers(0, 5 * 86400), micros=st.integers(0, 999_999),
    group_by=st.sampled_from([None, *analytics.GROUP_BY]),
    provider=st.sampled_from([None, "openai", "anthropic"]),
    model=st.sampled_from([None, "gpt-4o", "claude-sonnet-4-5"]),
    exact=st.booleans(),
)
async def test_analytics_equal_raw_sql(
    pool, seeded, start, length, micros, group_by, provider, model, exact
):
    date_from = T0 + timedelta(seconds=start, microseconds=micros)
    q = analytics.AnalyticsQuery(date_from, date_from + timedelta(seconds=length),
                                 group_by, provider, model)
    got = await analytics.llm_analytics(pool, seeded.id, q, exact_max_rows=10**9 if exact else 0)
    ref = await reference(pool, seeded.id, q)
    _check_totals(got, ref["totals"])
    _check_lists(got, ref)
    _check_groups(got, ref)
    await _check_percentiles(pool, seeded.id, q, got, exact)


# Multi-day ranges with partial hours and partial days at both ends, grouped by model/provider
# and/or filtered by provider/model: distinct sessions per group then come from
# llm_session_model_daily (whole days), llm_session_hourly (whole edge hours) and raw rows.
_SESSION_CASES = [
    (timedelta(minutes=30, microseconds=17), timedelta(days=3, hours=5, minutes=10), g, p, m)
    for g, p, m in [
        ("model", None, None), ("provider", None, None), (None, "openai", None),
        (None, None, "gpt-4o"), ("model", "anthropic", None), ("provider", None, "gpt-4o"),
        ("day", "openai", "gpt-4o"), ("hour", None, "claude-sonnet-4-5"),
    ]
] + [
    (timedelta(hours=-3, seconds=1), timedelta(days=4, hours=4), "model", None, None),
    (timedelta(hours=22, minutes=59, seconds=30), timedelta(days=2, hours=3), "provider", "openai",
     None),
    (timedelta(days=1, hours=2, minutes=1), timedelta(days=1, hours=23), "model", None, "gpt-4o"),
]


@pytest.mark.parametrize("case", _SESSION_CASES)
async def test_sessions_by_model_over_days_equal_raw_sql(pool, seeded, case):
    start, length, group_by, provider, model = case
    q = analytics.AnalyticsQuery(T0 + start, T0 + start + length, group_by, provider, model)
    s = analytics.segments(q.date_from, q.date_to, use_daily=group_by != "hour")
    if group_by != "hour":  # the range really has whole days and partial hours/days
        assert s.f < s.h1 < s.d1 < s.d2 < s.h2 < s.e
    got = await analytics.llm_analytics(pool, seeded.id, q)
    ref = await reference(pool, seeded.id, q)
    _check_totals(got, ref["totals"])
    _check_lists(got, ref)
    _check_groups(got, ref)


async def test_session_model_daily_is_the_raw_set(pool, seeded):
    """Guard: migration 011's table holds exactly the raw (day, provider, model, session) set."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT bucket, provider, model, session_id FROM pulse.llm_session_model_daily"
            " WHERE project_id = %(p)s ORDER BY 1, 2, 3, 4", {"p": seeded.id})
        table = await cur.fetchall()
        cur = await conn.execute(
            "SELECT DISTINCT date_trunc('day', \"timestamp\", 'UTC'), provider,"
            " model_requested, session_id FROM pulse.traces"
            " WHERE project_id = %(p)s AND session_id IS NOT NULL ORDER BY 1, 2, 3, 4",
            {"p": seeded.id})
        raw = await cur.fetchall()
    assert len(raw) > 100 and table == raw


async def test_the_dataset_really_uses_rollups(pool, seeded):
    """Guard: a 2-day range is served mostly by rollups (else the property test proves little)."""
    s = analytics.segments(T0 + timedelta(minutes=30), T0 + timedelta(days=2, minutes=10))
    assert (s.h1, s.d1, s.d2, s.h2) == (
        T0 + timedelta(hours=1), T0 + timedelta(days=1), T0 + timedelta(days=2),
        T0 + timedelta(days=2))
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT (SELECT sum(requests) FROM pulse.llm_usage_hourly WHERE project_id = %(p)s),"
            " (SELECT sum(requests) FROM pulse.llm_usage_daily WHERE project_id = %(p)s),"
            " (SELECT count(*) FROM pulse.traces WHERE project_id = %(p)s)", {"p": seeded.id})
        hourly, daily, raw = await cur.fetchone()
    assert hourly == daily == raw == 600


@pytest.mark.parametrize("q", [(0.5, [1, 1, 1]), (0.99, [1] * 99 + [200])])
def test_histogram_percentiles_pick_the_bin_of_the_rank(q):
    quantile, values = q
    hist: dict[int, int] = {}
    for v in values:
        b = 1 if v < 1 else 2 + math.floor(8 * math.log2(v))
        hist[b] = hist.get(b, 0) + 1
    (got,) = analytics.histogram_percentiles(hist, (quantile,))
    expected = sorted(values)[round(quantile * (len(values) - 1))]
    assert expected * 0.957 <= got <= expected * 1.045
