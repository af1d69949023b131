"""GET /v1/traces and /v1/spans: ``total`` (count tables for whole hours + raw edges, migration
008) equals ``count(*)`` over the raw rows, and the page equals the raw ``ORDER BY "timestamp"
DESC, id DESC LIMIT/OFFSET``, for random filters and date ranges, on both backends."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulse.records import SpanRecord, TraceRecord
from pulse.storage import queries, retention, writer
from tests.conftest import make_project

T0 = datetime(2026, 4, 1, tzinfo=UTC)
SPAN = timedelta(days=3)
PROVIDERS = {"openai": ["gpt-4o", "gpt-4o-mini"], "anthropic": ["claude-sonnet-4-5", "gpt-4o"]}
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "o3"]
SOURCES, KINDS = ["claude_code", "codex"], ["tool_use", "user_prompt", "agent_run"]
TOOLS = ["Bash", "Read", "Edit"]
SESSIONS = [f"s{i}" for i in range(12)]


def _instants(rnd: random.Random, n: int) -> list[datetime]:
    """Random microseconds, whole hours, and repeats (ties are broken by id)."""
    out: list[datetime] = []
    for _ in range(n):
        r = rnd.random()
        if r < 0.15:
            out.append(T0 + timedelta(hours=rnd.randrange(int(SPAN.total_seconds() // 3600))))
        elif r < 0.25 and out:
            out.append(rnd.choice(out))
        else:
            out.append(T0 + timedelta(microseconds=rnd.randrange(int(SPAN.total_seconds() * 1e6))))
    return out


def _traces(rnd: random.Random, n: int) -> list[TraceRecord]:
    out = []
    for ts in _instants(rnd, n):
        provider = rnd.choice(list(PROVIDERS))
        requested = rnd.choice(PROVIDERS[provider])
        out.append(TraceRecord(
            trace_id=uuid.UUID(int=rnd.getrandbits(128)), timestamp=ts, provider=provider,
            model_requested=requested,
            model_used=rnd.choice([requested, requested, None, rnd.choice(MODELS)]),
            request_body={"messages": [{"role": "user", "content": "hi"}]},
            status=rnd.choice(["success", "success", "error"]), latency_ms=rnd.uniform(1, 900),
            session_id=rnd.choice([None, *SESSIONS]),
        ))
    return out


def _spans(rnd: random.Random, n: int) -> list[SpanRecord]:
    out = []
    for ts in _instants(rnd, n):
        kind = rnd.choice(KINDS)
        out.append(SpanRecord(
            span_id=uuid.UUID(int=rnd.getrandbits(128)), session_id=rnd.choice(SESSIONS),
            timestamp=ts, source=rnd.choice(SOURCES), kind=kind, event_type=kind,
            status=rnd.choice([None, "success", "success", "error"]),
            tool_name=rnd.choice(TOOLS) if kind == "tool_use" else None,
            tool_use_id=f"t{rnd.randrange(10**6)}" if kind == "tool_use" else None,
        ))
    return out


async def _seed(pool, name: str, seed: int, n: int = 500):
    project = await make_project(pool, name)
    rnd = random.Random(seed)
    items = [(project.id, r) for r in [*_traces(rnd, n), *_spans(rnd, n)]]
    rnd.shuffle(items)
    for i in range(0, len(items), 113):
        await writer.write_records(pool, items[i:i + 113])
    await writer.write_records(pool, items[::4])  # redelivery: nothing new, nothing counted
    return project


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def seeded(pool):
    return await _seed(pool, "list-totals", seed=11)


# -- the reference: plain SQL over raw rows ---------------------------------------------------

async def reference(pool, table: str, project_id, filters, limit: int, offset: int):
    row, key = (queries.TRACE_JSON, "trace_id") if table == "traces" else (
        queries.SPAN_JSON, "span_id")
    where, args = "project_id = %s", [project_id]
    for name in ("session_id", "provider", "source", "kind", "tool_name", "status"):
        if getattr(filters, name, None) is not None:
            where, args = f"{where} AND {name} = %s", [*args, getattr(filters, name)]
    if getattr(filters, "model", None) is not None:
        where += " AND (model_requested = %s OR model_used = %s)"
        args += [filters.model, filters.model]
    if filters.date_from is not None:
        where, args = where + ' AND "timestamp" >= %s', [*args, filters.date_from]
    if filters.date_to is not None:
        where, args = where + ' AND "timestamp" <= %s', [*args, filters.date_to]
    async with pool.connection() as conn:
        cur = await conn.execute(f"SELECT count(*) FROM pulse.{table} WHERE {where}", args)
        (total,) = await cur.fetchone()
        cur = await conn.execute(
            f'SELECT {row} FROM pulse.{table} WHERE {where} ORDER BY "timestamp" DESC,'
            f" {key} DESC LIMIT %s OFFSET %s", [*args, limit, offset])
        rows = [r[0] for r in await cur.fetchall()]
    return rows, total


async def _row_instants(pool, project_id) -> list[datetime]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            'SELECT "timestamp" FROM pulse.traces WHERE project_id = %(p)s UNION'
            ' SELECT "timestamp" FROM pulse.spans WHERE project_id = %(p)s', {"p": project_id})
        return sorted(r[0] for r in await cur.fetchall())


def _bound(kind: str, draw: int, instants: list[datetime]) -> datetime | None:
    """None, a random microsecond, a whole hour, or exactly a stored row's timestamp."""
    if kind == "none":
        return None
    if kind == "row":
        return instants[draw % len(instants)]
    t = T0 - timedelta(hours=3) + timedelta(microseconds=draw % int(80 * 3600 * 1e6))
    return t.replace(minute=0, second=0, microsecond=0) if kind == "hour" else t


_bounds = st.tuples(st.sampled_from(["none", "micro", "hour", "row"]), st.integers(0, 2**40))
_paging = st.tuples(st.sampled_from([1, 7, 100, 1000]), st.sampled_from([0, 0, 3, 60, 450]))


async def _check(pool, table, project_id, filters, limit, offset) -> None:
    fn = queries.list_traces if table == "traces" else queries.list_spans
    page = await fn(pool, project_id, filters, limit, offset)
    rows, total = await reference(pool, table, project_id, filters, limit, offset)
    assert page.total == total, filters
    assert page.rows == rows, filters


@settings(max_examples=35, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    filt=st.sampled_from([
        ("none", None), *(("session_id", s) for s in SESSIONS[:3]),
        *(("provider", p) for p in [*PROVIDERS, "mistral"]), *(("model", m) for m in MODELS),
        ("status", "success"), ("status", "error")]),
    lo=_bounds, hi=_bounds, paging=_paging, extra_status=st.booleans(),
)
async def test_trace_list_equals_raw_sql(pool, seeded, filt, lo, hi, paging, extra_status):
    instants = await _row_instants(pool, seeded.id)
    name, value = filt
    kwargs = {} if name == "none" else {name: value}
    if extra_status and name != "status":  # combinations stay within the count table's keys
        kwargs["status"] = "error"
    filters = queries.TraceFilters(
        **kwargs, date_from=_bound(lo[0], lo[1], instants), date_to=_bound(hi[0], hi[1], instants))
    await _check(pool, "traces", seeded.id, filters, *paging)


@settings(max_examples=35, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    filt=st.sampled_from([
        ("none", None), *(("session_id", s) for s in SESSIONS[:3]),
        *(("source", s) for s in SOURCES), *(("kind", k) for k in KINDS),
        *(("tool_name", t) for t in [*TOOLS, "Nope"]), ("status", "success"),
        ("status", "error")]),
    lo=_bounds, hi=_bounds, paging=_paging, extra_kind=st.booleans(),
)
async def test_span_list_equals_raw_sql(pool, seeded, filt, lo, hi, paging, extra_kind):
    instants = await _row_instants(pool, seeded.id)
    name, value = filt
    kwargs = {} if name == "none" else {name: value}
    if extra_kind and name != "kind":
        kwargs["kind"] = "tool_use"
    filters = queries.SpanFilters(
        **kwargs, date_from=_bound(lo[0], lo[1], instants), date_to=_bound(hi[0], hi[1], instants))
    await _check(pool, "spans", seeded.id, filters, *paging)


async def _totals(pool, project_id) -> list[int]:
    out = []
    for filters in (queries.TraceFilters(), queries.TraceFilters(model="gpt-4o"),
                    queries.TraceFilters(date_from=T0 + timedelta(minutes=90))):
        out.append((await queries.list_traces(pool, project_id, filters, 1, 0)).total)
    for filters in (queries.SpanFilters(), queries.SpanFilters(tool_name="Bash"),
                    queries.SpanFilters(date_to=T0 + timedelta(hours=30, seconds=1))):
        out.append((await queries.list_spans(pool, project_id, filters, 1, 0)).total)
    return out


async def test_redelivery_does_not_change_totals(pool):
    project = await _seed(pool, "list-totals-redelivery", seed=5, n=120)
    before = await _totals(pool, project.id)
    rnd = random.Random(5)  # the very same records again, in one batch and shuffled
    items = [(project.id, r) for r in [*_traces(rnd, 120), *_spans(rnd, 120)]]
    rnd.shuffle(items)
    result = await writer.write_records(pool, items)
    assert (result.traces_inserted, result.spans_inserted) == (0, 0)
    assert await _totals(pool, project.id) == before
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT (SELECT sum(n) FROM pulse.trace_counts_hourly WHERE project_id = %(p)s),"
            " (SELECT count(*) FROM pulse.traces WHERE project_id = %(p)s),"
            " (SELECT sum(n) FROM pulse.span_counts_hourly WHERE project_id = %(p)s),"
            " (SELECT count(*) FROM pulse.spans WHERE project_id = %(p)s)", {"p": project.id})
        t_counted, t_raw, s_counted, s_raw = await cur.fetchone()
    assert (t_counted, s_counted) == (t_raw, s_raw) == (120, 120)


async def test_totals_stay_exact_after_retention(pool):
    """Retention deletes raw rows before a UTC midnight; stale count rows must not leak."""
    project = await _seed(pool, "list-totals-retention", seed=9, n=150)
    await retention.run_retention(pool, 1, now=T0 + timedelta(days=2, hours=5),
                                  project_id=project.id)
    for filters in (queries.TraceFilters(), queries.TraceFilters(provider="openai")):
        page = await queries.list_traces(pool, project.id, filters, 5, 0)
        assert page.total == (await reference(pool, "traces", project.id, filters, 5, 0))[1]
    page = await queries.list_spans(pool, project.id, queries.SpanFilters(), 5, 0)
    assert page.total == (await reference(pool, "spans", project.id, queries.SpanFilters(),
                                          5, 0))[1]


async def test_routes_return_exact_totals(pool, http, seeded):
    for path, params, table, filters in (
        ("/v1/traces", {"model": "gpt-4o", "limit": 3, "offset": 2}, "traces",
         queries.TraceFilters(model="gpt-4o")),
        ("/v1/spans", {"tool_name": "Read", "date_from": "2026-04-01T10:30:00Z", "limit": 3},
         "spans", queries.SpanFilters(tool_name="Read",
                                      date_from=datetime(2026, 4, 1, 10, 30, tzinfo=UTC))),
    ):
        r = await http.get(path, params=params, headers=seeded.headers)
        assert r.status_code == 200
        body = r.json()
        rows, total = await reference(pool, table, seeded.id, filters, params["limit"],
                                      params.get("offset", 0))
        assert body["total"] == total and body[table] == [orjson.loads(x) for x in rows]
