"""LLM-call analytics (``GET /v1/analytics``, docs/api.md §LLM analytics) over rollups plus raw
edges.

A range ``[date_from, date_to]`` (inclusive) is cut into segments: raw rows of ``pulse.traces``
for the partial hours at both edges, ``pulse.llm_usage_hourly`` for whole hours, and
``pulse.llm_usage_daily`` for whole UTC days (not when grouping by hour). Rollups hold exactly the
sums of the raw rows they cover (maintained in the writer's transaction, storage/rollups.py), so
counts, tokens, cost and sessions equal a computation over raw rows. Distinct sessions are
counted over the union of session sets: whole days from ``llm_session_daily`` (no provider/model
filter or grouping) or ``llm_session_model_daily`` (with one), whole hours from
``llm_session_hourly``, partial hours from raw rows.

Latency percentiles are exact (``percentile_cont`` over the raw rows) when the range holds at most
``EXACT_PERCENTILE_MAX_ROWS`` calls; above that they come from the rollups' latency histograms:
the estimate is the geometric middle of the bin holding the order statistic nearest the rank, so
it is within a factor 2^(±1/16) (-4.2 % / +4.4 %) of that order statistic for latencies >= 1 ms
and within 0.5 ms below 1 ms.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

EXACT_PERCENTILE_MAX_ROWS = 50_000
GROUP_BY = ("day", "hour", "model", "provider")
TOP_MODELS = 10
HIST_BINS = 218
_US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class AnalyticsQuery:
    date_from: datetime
    date_to: datetime  # inclusive
    group_by: str | None = None
    provider: str | None = None
    model: str | None = None  # model_requested


@dataclass(frozen=True, slots=True)
class Segments:
    """Boundaries: raw [f, h1), hourly [h1, d1) and [d2, h2), daily [d1, d2), raw [h2, e)."""

    f: datetime
    h1: datetime
    d1: datetime
    d2: datetime
    h2: datetime
    e: datetime  # exclusive end: date_to + 1 µs


def _floor(t: datetime, unit: str) -> datetime:
    t = t.astimezone(UTC)
    t = t.replace(minute=0, second=0, microsecond=0)
    return t.replace(hour=0) if unit == "day" else t


def _ceil(t: datetime, unit: str) -> datetime:
    step = timedelta(days=1) if unit == "day" else timedelta(hours=1)
    floor = _floor(t, unit)
    return floor if floor == t else floor + step


def segments(date_from: datetime, date_to: datetime, use_daily: bool = True) -> Segments:
    f, e = date_from.astimezone(UTC), date_to.astimezone(UTC) + _US
    h1, h2 = _ceil(f, "hour"), _floor(e, "hour")
    if h1 >= h2:
        return Segments(f, e, e, e, e, e)
    d1, d2 = _ceil(f, "day"), _floor(e, "day")
    if not use_daily or d1 >= d2:
        d1 = d2 = h2
    return Segments(f, h1, d1, d2, h2, e)


def _filters(q: AnalyticsQuery, model_col: str) -> tuple[str, dict[str, Any]]:
    sql, args = "", {}
    if q.provider is not None:
        sql += " AND provider = %(provider)s"
        args["provider"] = q.provider
    if q.model is not None:
        sql += f" AND {model_col} = %(model)s"
        args["model"] = q.model
    return sql, args


def _params(project_id: UUID, s: Segments) -> dict[str, Any]:
    return {"p": project_id, "f": s.f, "h1": s.h1, "d1": s.d1, "d2": s.d2, "h2": s.h2, "e": s.e}


_RAW_EDGES = """(("timestamp" >= %(f)s AND "timestamp" < %(h1)s)
                 OR ("timestamp" >= %(h2)s AND "timestamp" < %(e)s))"""
_HOURLY_PART = "((bucket >= %(h1)s AND bucket < %(d1)s) OR (bucket >= %(d2)s AND bucket < %(h2)s))"


def _usage_sql(filt: str, raw_filt: str) -> str:
    """Per-bucket sums over the three kinds of segments (one row per source row)."""
    cols = "bucket, provider, model, status, requests, input_tokens, output_tokens, cost_cents,"
    return f"""
    SELECT {cols} latency_sum FROM pulse.llm_usage_daily
    WHERE project_id = %(p)s AND bucket >= %(d1)s AND bucket < %(d2)s{filt}
    UNION ALL
    SELECT {cols} latency_sum FROM pulse.llm_usage_hourly
    WHERE project_id = %(p)s AND {_HOURLY_PART}{filt}
    UNION ALL
    SELECT date_trunc('hour', "timestamp", 'UTC'), provider, model_requested, status, 1,
           coalesce(input_tokens, 0), coalesce(output_tokens, 0), coalesce(cost_cents, 0),
           latency_ms
    FROM pulse.traces WHERE project_id = %(p)s AND {_RAW_EDGES}{raw_filt}"""


def _period_sql(hourly: bool) -> str:
    fmt = "YYYY-MM-DD HH24:00:00" if hourly else "YYYY-MM-DD"
    return f"to_char(bucket AT TIME ZONE 'UTC', '{fmt}')"


async def _series(conn, project_id: UUID, q: AnalyticsQuery, s: Segments) -> list[tuple]:
    filt, args = _filters(q, "model")
    raw_filt, _ = _filters(q, "model_requested")
    sql = f"""
    SELECT {_period_sql(q.group_by == 'hour')} AS period, provider, model, status,
           sum(requests)::bigint, sum(input_tokens), sum(output_tokens),
           sum(cost_cents), sum(latency_sum)
    FROM ({_usage_sql(filt, raw_filt)}) u
    GROUP BY 1, 2, 3, 4"""
    cur = await conn.execute(sql, {**_params(project_id, s), **args})
    return await cur.fetchall()


def _group_key_sql(group_by: str | None) -> str:
    if group_by in ("day", "hour"):
        return _period_sql(group_by == "hour")
    return {"model": "model", "provider": "provider"}.get(group_by or "", "NULL::text")


async def _sessions(conn, project_id: UUID, q: AnalyticsQuery, s: Segments) -> dict:
    """Distinct sessions: in total (key None) and per group key."""
    filt, args = _filters(q, "model")
    raw_filt, _ = _filters(q, "model_requested")
    # DISTINCT in subqueries (hash aggregates) rather than count(DISTINCT) (a sort): much faster
    per_key = ""
    if q.group_by is not None:
        per_key = f"""UNION ALL SELECT key, 0, count(*) FROM
            (SELECT DISTINCT {_group_key_sql(q.group_by)} AS key, session_id FROM x) k
            GROUP BY key"""
    if filt or q.group_by in ("model", "provider"):
        # whole days: one row per day, provider, model and session (migration 011)
        whole = f"""SELECT bucket, provider, model, session_id FROM pulse.llm_session_model_daily
          WHERE project_id = %(p)s AND bucket >= %(d1)s AND bucket < %(d2)s{filt}
          UNION ALL
          SELECT bucket, provider, model, session_id FROM pulse.llm_session_hourly
          WHERE project_id = %(p)s AND {_HOURLY_PART}{filt}"""
    else:  # whole days: one row per session and day (migration 010)
        whole = """SELECT bucket, NULL, NULL, session_id FROM pulse.llm_session_daily
          WHERE project_id = %(p)s AND bucket >= %(d1)s AND bucket < %(d2)s
          UNION ALL
          SELECT bucket, NULL, NULL, session_id FROM pulse.llm_session_hourly
          WHERE project_id = %(p)s AND """ + _HOURLY_PART
    # grouping by model/provider over whole days: the per-key DISTINCT re-reads the session
    # tables (cheap) rather than a materialized copy of ~all rows spilled to temp files
    mat = "NOT " if q.group_by in ("model", "provider") and s.d1 < s.d2 else ""
    sql = f"""
    WITH x AS {mat}MATERIALIZED (
          {whole}
          UNION ALL
          SELECT date_trunc('hour', "timestamp", 'UTC'), provider, model_requested, session_id
          FROM pulse.traces WHERE project_id = %(p)s AND session_id IS NOT NULL
           AND {_RAW_EDGES}{raw_filt})
    SELECT NULL::text, 1, count(*) FROM (SELECT DISTINCT session_id FROM x) t
    {per_key}"""
    cur = await conn.execute(sql, {**_params(project_id, s), **args})
    return {(None if grouping else key): n for key, grouping, n in await cur.fetchall()}


async def _exact_percentiles(conn, project_id: UUID, q: AnalyticsQuery) -> list[float]:
    raw_filt, args = _filters(q, "model_requested")
    cur = await conn.execute(
        "SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms)"
        ' FROM pulse.traces WHERE project_id = %(p)s AND "timestamp" >= %(f)s'
        f' AND "timestamp" <= %(t)s{raw_filt}',
        {"p": project_id, "f": q.date_from, "t": q.date_to, **args},
    )
    row = (await cur.fetchone())[0]
    return [float(v) for v in row] if row else [0.0, 0.0, 0.0]


async def _histogram(conn, project_id: UUID, q: AnalyticsQuery, s: Segments) -> dict[int, int]:
    filt, args = _filters(q, "model")
    raw_filt, _ = _filters(q, "model_requested")
    sql = f"""
    SELECT i::integer, sum(n)::bigint FROM (
        SELECT u.i, u.n FROM (
            SELECT latency_hist FROM pulse.llm_usage_daily
            WHERE project_id = %(p)s AND bucket >= %(d1)s AND bucket < %(d2)s{filt}
            UNION ALL
            SELECT latency_hist FROM pulse.llm_usage_hourly
            WHERE project_id = %(p)s AND {_HOURLY_PART}{filt}) r,
            unnest(r.latency_hist) WITH ORDINALITY AS u(n, i)
        WHERE u.n > 0
        UNION ALL
        SELECT pulse.latency_bin(latency_ms), 1 FROM pulse.traces
        WHERE project_id = %(p)s AND {_RAW_EDGES}{raw_filt}) b
    GROUP BY 1"""
    cur = await conn.execute(sql, {**_params(project_id, s), **args})
    return {i: n for i, n in await cur.fetchall()}


def bin_value(b: int) -> float:
    """Representative latency of histogram bin ``b`` (see migrations/004_rollups.sql)."""
    return 0.5 if b <= 1 else 2 ** ((b - 1.5) / 8)


def histogram_percentiles(hist: dict[int, int], quantiles=(0.5, 0.95, 0.99)) -> list[float]:
    """Percentiles from bin counts: the bin of the order statistic nearest rank q*(n-1)."""
    total = sum(hist.values())
    if total == 0:
        return [0.0 for _ in quantiles]
    out = []
    for q in quantiles:
        rank, seen = round(q * (total - 1)), 0
        for b in sorted(hist):
            seen += hist[b]
            if seen > rank:
                out.append(bin_value(b))
                break
    return out


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def _cents(value: Decimal | int | float | None) -> float:
    return float(round(Decimal(value or 0), 6))


class _Acc:
    """Running sums for one slice of the series."""

    __slots__ = ("requests", "errors", "input", "output", "cost", "latency")

    def __init__(self) -> None:
        self.requests = self.errors = self.input = self.output = 0
        self.cost, self.latency = Decimal(0), 0.0

    def add(self, row: tuple) -> None:
        _, _, _, status, requests, inp, out, cost, latency = row
        self.requests += requests
        self.errors += requests if status == "error" else 0
        self.input, self.output = self.input + int(inp), self.output + int(out)
        self.cost += Decimal(cost or 0)
        self.latency += float(latency or 0)

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "costCents": _cents(self.cost),
            "inputTokens": self.input,
            "outputTokens": self.output,
            "totalTokens": self.input + self.output,
            "avgLatency": _ratio(self.latency, self.requests),
            "errorRate": _ratio(100.0 * self.errors, self.requests),
        }


def _accumulate(rows: list[tuple], key) -> dict[Any, _Acc]:
    out: dict[Any, _Acc] = defaultdict(_Acc)
    for row in rows:
        out[key(row)].add(row)
    return out


def _cost_over_time(rows: list[tuple]) -> list[dict[str, Any]]:
    acc = _accumulate(rows, lambda r: (r[0], r[1]))
    return [
        {"period": p, "provider": prov, "costCents": _cents(a.cost)}
        for (p, prov), a in sorted(acc.items())
    ]


def _top_models(rows: list[tuple]) -> list[dict[str, Any]]:
    acc = _accumulate(rows, lambda r: (r[1], r[2]))
    ranked = sorted(acc.items(), key=lambda kv: (-kv[1].requests, -kv[1].cost, kv[0]))
    out = []
    for (provider, model), a in ranked[:TOP_MODELS]:
        s = a.summary()
        out.append({"provider": provider, "model": model, "requests": s["requests"],
                    "costCents": s["costCents"], "avgLatency": s["avgLatency"],
                    "totalTokens": s["totalTokens"], "errorRate": s["errorRate"]})
    return out


def _groups(rows: list[tuple], group_by: str | None, sessions: dict) -> list[dict[str, Any]]:
    if group_by is None:
        return []
    index = {"day": 0, "hour": 0, "provider": 1, "model": 2}[group_by]
    acc = _accumulate(rows, lambda r: r[index])
    groups = []
    for key in sorted(acc):
        group = {"key": key, **acc[key].summary(), "sessions": sessions.get(key, 0)}
        if group_by in ("model", "provider"):
            mine = [r for r in rows if r[index] == key]
            days = _accumulate(mine, lambda r: r[0])
            group["costOverTime"] = [
                {"period": p, "costCents": _cents(a.cost)} for p, a in sorted(days.items())
            ]
        groups.append(group)
    return groups


def _computed(total: dict[str, Any], sessions: int) -> dict[str, float]:
    requests, tokens = total["requests"], total["totalTokens"]
    return {
        "costPerRequest": _ratio(total["costCents"], requests),
        "tokensPerRequest": _ratio(tokens, requests),
        "costPer1kTokens": _ratio(total["costCents"] * 1000, tokens),
        "tracesPerSession": _ratio(requests, sessions),
        "avgInputTokens": _ratio(total["inputTokens"], requests),
        "avgOutputTokens": _ratio(total["outputTokens"], requests),
    }


def _response(rows: list[tuple], sessions: dict, pct: list[float], group_by) -> dict[str, Any]:
    total = _accumulate(rows, lambda r: None)[None].summary()
    by_provider = _accumulate(rows, lambda r: r[1])
    n_sessions = sessions.get(None, 0)
    return {
        "totalCost": total["costCents"],
        "totalRequests": total["requests"],
        "totalSessions": n_sessions,
        "totalTokens": {"input": total["inputTokens"], "output": total["outputTokens"],
                        "total": total["totalTokens"]},
        "avgLatency": total["avgLatency"],
        "errorRate": total["errorRate"],
        "costOverTime": _cost_over_time(rows),
        "costByProvider": [
            {"provider": p, "costCents": _cents(a.cost), "requests": a.requests}
            for p, a in sorted(by_provider.items(), key=lambda kv: (-kv[1].cost, kv[0]))
        ],
        "topModels": _top_models(rows),
        "computed": _computed(total, n_sessions),
        "latencyPercentiles": dict(zip(("p50", "p95", "p99"), pct, strict=True)),
        "groupBy": group_by,
        "groups": _groups(rows, group_by, sessions),
    }


async def llm_analytics(
    pool: AsyncConnectionPool,
    project_id: UUID,
    q: AnalyticsQuery,
    *,
    exact_max_rows: int = EXACT_PERCENTILE_MAX_ROWS,
) -> dict[str, Any]:
    """The ``GET /v1/analytics`` body for one project (empty range: zeros)."""
    s = segments(q.date_from, q.date_to, use_daily=q.group_by != "hour")
    async with pool.connection() as conn:
        rows = await _series(conn, project_id, q, s)
        sessions = await _sessions(conn, project_id, q, s)
        requests = sum(r[4] for r in rows)
        if requests == 0:
            pct = [0.0, 0.0, 0.0]
        elif requests <= exact_max_rows:
            pct = await _exact_percentiles(conn, project_id, q)
        else:
            pct = histogram_percentiles(await _histogram(conn, project_id, q, s))
    return _response(rows, sessions, pct, q.group_by)
