"""The column tables of pulse/row_shapes.py agree with the database and with the records.

A migration that adds, drops or retypes a column of pulse.traces or pulse.spans without the
column table (or the reverse) fails here, on both backends; so does a record field that no column
stores.
"""

from __future__ import annotations

import uuid
from dataclasses import fields
from datetime import UTC, datetime

import orjson
import pytest

from pulse import row_shapes
from pulse.records import OtelIdentity, SpanRecord, TraceRecord
from pulse.storage import queries, writer
from tests.conftest import make_project

RECORDS = {"traces": TraceRecord, "spans": SpanRecord}


async def database_columns(pool, table: str) -> dict[str, tuple[str, bool, bool]]:
    """``{column: (data_type, nullable, has_default)}`` as information_schema reports them."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT column_name, data_type, is_nullable = 'YES', column_default IS NOT NULL"
            " FROM information_schema.columns WHERE table_schema = 'pulse' AND table_name = %s",
            (table,),
        )
        return {name: (kind, nullable, default) for name, kind, nullable, default
                in await cur.fetchall()}


@pytest.mark.parametrize("table", ["traces", "spans"])
async def test_column_table_matches_the_database(pool, table):
    in_db = await database_columns(pool, table)
    declared = {c.name: (c.sql_type, c.nullable) for c in row_shapes.TABLES[table]}
    assert {name: shape[:2] for name, shape in in_db.items()} == declared
    for column in row_shapes.TABLES[table]:
        if column.source is None:  # never written: the database must fill it
            assert in_db[column.name][2], f"{table}.{column.name} has no default"


@pytest.mark.parametrize("table", ["traces", "spans"])
def test_every_record_field_is_stored_in_a_column(table):
    columns = row_shapes.TABLES[table]
    sources = {c.source for c in columns if c.source not in (None, row_shapes.PROJECT)}
    expected = {f.name for f in fields(RECORDS[table]) if f.name != "otel"}
    expected |= {f"otel.{f.name}" for f in fields(OtelIdentity)}
    assert sources == expected


@pytest.mark.parametrize("table", ["traces", "spans"])
def test_names_are_unique_and_api_keys_are_camel_case(table):
    columns = row_shapes.TABLES[table]
    assert len({c.name for c in columns}) == len(columns)
    keys = [c.api for c in row_shapes.returned(columns)]
    assert len(set(keys)) == len(keys)
    assert all("_" not in k and k[0].islower() for k in keys)
    assert keys[:2] == [columns[0].api, "projectId"]  # the row's own id first


def test_writer_and_projection_follow_the_table():
    assert writer.TRACES.columns == tuple(c.name for c in row_shapes.written(row_shapes.TRACES))
    assert "ingested_at" not in writer.SPANS.columns
    for table, projection in (("traces", queries.TRACE_JSON), ("spans", queries.SPAN_JSON)):
        for column in row_shapes.returned(row_shapes.TABLES[table]):
            assert f"'{column.api}', " in projection
        assert "ingestedAt" not in projection


async def test_metadata_none_is_stored_as_an_empty_object(pool):
    """``Column.empty``: the writer stores ``{}`` for a record without metadata."""
    project = await make_project(pool)
    now = datetime(2026, 1, 25, 12, tzinfo=UTC)
    record = TraceRecord(trace_id=uuid.uuid4(), timestamp=now, provider="openai",
                         model_requested="m", request_body={}, status="success",
                         latency_ms=1.0, metadata=None)
    await writer.write_records(pool, [(project.id, record)])
    stored = await queries.get_traces(pool, project.id, [record.trace_id])
    assert orjson.loads(stored[record.trace_id])["metadata"] == {}
