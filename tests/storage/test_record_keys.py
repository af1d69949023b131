"""The record key tables (migration 014): one row per (project, id) by construction, backfilled
from existing rows, cleared with their rows by retention."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from pulse.records import SpanRecord, TraceRecord
from pulse.storage import retention, writer
from pulse.storage.db import with_database
from pulse.storage.migrate import migrate, migration_files
from tests.conftest import make_project

T0 = datetime(2026, 1, 25, 12, 0, tzinfo=UTC)


def _trace(tid, ts) -> TraceRecord:
    return TraceRecord(tid, ts, "openai", "gpt-4o", {}, "success", 10.0, input_tokens=1,
                       output_tokens=1, session_id="s")


def _span(sid, ts) -> SpanRecord:
    return SpanRecord(sid, "a", ts, "claude_code", "tool_use", "post_tool_use")


async def _count(pool, table: str, project_id) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT count(*) FROM pulse.{table} WHERE project_id = %s", (project_id,))
        return (await cur.fetchone())[0]


async def test_many_concurrent_writers_of_the_same_ids_store_one_row_each(pool):
    """Six writers, each with every id at its own timestamp, in its own key order."""
    p = await make_project(pool)
    ids = [uuid.uuid4() for _ in range(40)]

    def batch(n: int):
        order = ids if n % 2 else list(reversed(ids))
        ts = T0 + timedelta(seconds=n)
        return [(p.id, _trace(i, ts)) for i in order] + [(p.id, _span(i, ts)) for i in order]

    results = await asyncio.gather(*(writer.write_records(pool, batch(n)) for n in range(6)))
    assert sum(r.traces_inserted for r in results) == len(ids)
    assert sum(r.spans_inserted for r in results) == len(ids)
    for table in ("traces", "spans", "trace_keys", "span_keys"):
        assert await _count(pool, table, p.id) == len(ids), table
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT sum(requests) FROM pulse.llm_usage_hourly WHERE project_id = %s", (p.id,))
        assert (await cur.fetchone())[0] == len(ids)


async def test_retention_removes_keys_with_their_rows(pool):
    now = datetime(2026, 4, 20, 15, 0, tzinfo=UTC)
    cutoff = datetime(2026, 4, 10, tzinfo=UTC)
    p = await make_project(pool)
    old, new = uuid.uuid4(), uuid.uuid4()
    await writer.write_records(pool, [
        (p.id, _trace(old, cutoff - timedelta(hours=1))), (p.id, _trace(new, cutoff)),
        (p.id, _span(old, cutoff - timedelta(hours=1))), (p.id, _span(new, cutoff))])
    report = await retention.run_retention(pool, 10, now=now, project_id=p.id)
    assert report.deleted["trace_keys"] == report.deleted["span_keys"] == 1
    for table in ("traces", "spans", "trace_keys", "span_keys"):
        assert await _count(pool, table, p.id) == 1, table
    # the deleted id is storable again (its key went with its row)
    again = await writer.write_records(pool, [(p.id, _trace(old, cutoff + timedelta(hours=1)))])
    assert again.traces_inserted == 1


def test_migration_backfills_keys_from_existing_rows(backend):
    """Rows written before migration 014 (including an id stored twice by the old race) get
    exactly one key each, at the earliest row's timestamp."""
    name = f"pulse_keys_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(backend.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(backend.url, name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE public.pulse_schema_migrations (version integer PRIMARY"
                         " KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
            for number, fname, text in migration_files():
                if number < 14:
                    with conn.transaction():
                        conn.execute(text)
                        conn.execute("INSERT INTO public.pulse_schema_migrations VALUES (%s, %s)",
                                     (number, fname))
            project, tid, sid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            for ts in (T0 + timedelta(seconds=1), T0):
                conn.execute(
                    'INSERT INTO pulse.traces (project_id, trace_id, "timestamp", latency_ms,'
                    " provider, model_requested, request_body, status) VALUES"
                    " (%s, %s, %s, 1, 'openai', 'gpt-4o', '{}', 'success')", (project, tid, ts))
                conn.execute(
                    'INSERT INTO pulse.spans (project_id, span_id, "timestamp", session_id,'
                    " source, kind, event_type) VALUES (%s, %s, %s, 'a', 'claude_code',"
                    " 'tool_use', 'post_tool_use')", (project, sid, ts))
        report = migrate(url, "auto")
        assert "014_record_keys.sql" in report.applied
        with psycopg.connect(url) as conn:
            assert conn.execute('SELECT trace_id, "timestamp" FROM pulse.trace_keys').fetchall() \
                == [(tid, T0)]
            assert conn.execute('SELECT span_id, "timestamp" FROM pulse.span_keys').fetchall() \
                == [(sid, T0)]
    finally:
        with psycopg.connect(backend.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
