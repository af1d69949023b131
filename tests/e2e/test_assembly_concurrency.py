"""Concurrent redelivery (issue 11 defect 2): one row per (project, id) whatever the timestamps and
however many writers or routes race, and analytics that count each id once.

The same ids are sent at once over two routes, each copy stamped 1 s apart from the other, a few
rounds in a row; the oracle is exact: rows == ids and ``totalRequests`` == ids, on both backends.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from pulse.mapping.otlp.ids import otel_uuid
from tests.factories import span_item, trace_item
from tests.helpers import eventually

T0 = datetime(2026, 1, 25, 12, 0, tzinfo=UTC)
RANGE = {"date_from": "2026-01-25T00:00:00Z", "date_to": "2026-01-26T00:00:00Z"}
IDS = 30
ROUNDS = 3


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


async def _rows(pool, table: str, project_id) -> tuple[int, int]:
    key = "trace_id" if table == "traces" else "span_id"
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT count(*), count(DISTINCT {key}) FROM pulse.{table} WHERE project_id = %s",
            (project_id,),
        )
        return tuple(await cur.fetchone())


async def _settled(pool, table, project_id, expected: int) -> tuple[int, int]:
    """Wait for the queued copies to be written (rows reach ``expected`` ids, then stay)."""
    await eventually(lambda: _rows(pool, table, project_id), lambda r: r[1] >= expected)
    await asyncio.sleep(0.3)  # let any later duplicate land, so a second row would be seen
    return await _rows(pool, table, project_id)


def _traces(ids, offset_s: int, **kw) -> list[dict]:
    ts = _iso(T0 + timedelta(seconds=offset_s))
    return [trace_item(trace_id=str(i), timestamp=ts, session_id=f"s-{n % 3}", **kw)
            for n, i in enumerate(ids)]


@pytest.mark.parametrize("routes", [("batch", "batch"), ("batch", "async")])
async def test_concurrent_trace_redelivery_one_row_per_id(http, pool, project, routes):
    total = 0
    for rnd in range(ROUNDS):
        ids = [uuid.uuid4() for _ in range(IDS)]
        total += IDS
        posts = [
            http.post(f"/v1/traces/{route}", json=_traces(ids, n + rnd * 10),
                      headers=project.headers)
            for n, route in enumerate(routes)
        ]
        for r in await asyncio.gather(*posts):
            assert r.status_code == 202, r.text
    rows, distinct = await _settled(pool, "traces", project.id, total)
    assert (rows, distinct) == (total, total)
    r = await http.get("/v1/analytics", params=RANGE, headers=project.headers)
    body = r.json()
    assert body["totalRequests"] == total
    assert body["totalTokens"]["input"] == total * 1000
    assert body["totalSessions"] == 3
    r = await http.get("/v1/traces", params={"limit": 1}, headers=project.headers)
    assert r.json()["total"] == total


async def test_concurrent_span_redelivery_one_row_per_id(http, pool, project):
    total = 0
    for rnd in range(ROUNDS):
        ids = [uuid.uuid4() for _ in range(IDS)]
        total += IDS
        posts = [
            http.post(f"/v1/spans/{route}", json=[
                span_item(span_id=str(i), tool_use_id=f"t-{i}", timestamp=_iso(
                    T0 + timedelta(seconds=n + rnd * 10))) for i in ids
            ], headers=project.headers)
            for n, route in enumerate(("batch", "batch", "async"))
        ]
        for r in await asyncio.gather(*posts):
            assert r.status_code == 202, r.text
    rows, distinct = await _settled(pool, "spans", project.id, total)
    assert (rows, distinct) == (total, total)
    r = await http.get("/v1/sessions", headers=project.headers)
    [session] = r.json()["sessions"]
    assert (session["spanCount"], session["toolCalls"]) == (total, total)
    r = await http.get("/v1/analytics/spans", params=RANGE, headers=project.headers)
    assert r.status_code == 200, r.text
    assert r.json()["totalSpans"] == total, r.json()


def _otlp_chat(trace_hex: str, span_hex: str, start: datetime) -> dict:
    ns = int(start.timestamp() * 1e9)
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.system": "openai",
             "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 1000,
             "gen_ai.usage.output_tokens": 500}
    return {"traceId": trace_hex, "spanId": span_hex, "name": "chat gpt-4o",
            "startTimeUnixNano": str(ns), "endTimeUnixNano": str(ns + 800_000_000),
            "attributes": [{"key": k, "value": {"intValue": str(v)} if isinstance(v, int)
                            else {"stringValue": v}} for k, v in attrs.items()]}


async def test_concurrent_otlp_and_batch_redelivery_one_row_per_id(http, pool, project):
    """OTLP (queued, the writer loop) racing native /batch (committed by the request) for the
    same row ids: the native copy uses the id the OTLP mapping derives from the OTel ids."""
    total = 0
    for rnd in range(ROUNDS):
        pairs = [(uuid.uuid4().hex, uuid.uuid4().hex[:16]) for _ in range(IDS)]
        total += IDS
        start = T0 + timedelta(seconds=rnd * 10)
        export = {"resourceSpans": [{"scopeSpans": [{"spans": [
            _otlp_chat(t, s, start) for t, s in pairs]}]}]}
        native = _traces([otel_uuid(t, s) for t, s in pairs], rnd * 10 + 1)
        posts = [http.post("/v1/traces", json=export, headers=project.headers),
                 http.post("/v1/traces/batch", json=native, headers=project.headers)]
        for r in await asyncio.gather(*posts):
            assert r.status_code in (200, 202), r.text
    rows, distinct = await _settled(pool, "traces", project.id, total)
    assert (rows, distinct) == (total, total)
    r = await http.get("/v1/analytics", params=RANGE, headers=project.headers)
    assert r.json()["totalRequests"] == total
