"""Migrations: schema of docs/api.md §Rows and docs/architecture.md §Storage, hypertables on
TimescaleDB, idempotent and concurrent."""

import threading
import uuid

import psycopg
import pytest

from pulse.storage.db import with_database
from pulse.storage.migrate import hypertables, migrate, migration_files

TRACE_COLUMNS = {
    "project_id",
    "trace_id",
    "timestamp",
    "session_id",
    "latency_ms",
    "provider",
    "model_requested",
    "model_used",
    "provider_request_id",
    "request_body",
    "response_body",
    "input_tokens",
    "output_tokens",
    "output_text",
    "finish_reason",
    "status",
    "error",
    "cost_cents",
    "metadata",
    "otel_trace_id",
    "otel_span_id",
    "otel_parent_span_id",
    "service_name",
}
SPAN_COLUMNS = {
    "project_id",
    "span_id",
    "timestamp",
    "session_id",
    "parent_span_id",
    "duration_ms",
    "source",
    "kind",
    "event_type",
    "status",
    "tool_use_id",
    "tool_name",
    "tool_input",
    "tool_response",
    "error",
    "is_interrupt",
    "cwd",
    "model",
    "agent_name",
    "metadata",
    "otel_trace_id",
    "otel_span_id",
    "otel_parent_span_id",
    "service_name",
}


def columns(url: str, table: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = 'pulse' AND table_name = %s",
            (table,),
        ).fetchall()
    return {r[0] for r in rows}


def test_tables_have_every_spec_field(backend):
    assert columns(backend.url, "traces") >= TRACE_COLUMNS
    assert columns(backend.url, "spans") >= SPAN_COLUMNS


def test_migrating_again_applies_nothing(backend):
    report = migrate(backend.url, "auto")
    assert report.applied == []
    assert report.timescaledb == backend.timescale


@pytest.mark.timescaledb
def test_traces_and_spans_are_hypertables(backend):
    assert hypertables(backend.url) == ["metric_points", "spans", "traces"]
    with psycopg.connect(backend.url) as conn:
        rows = conn.execute(
            "SELECT hypertable_name, column_name, time_interval FROM"
            " timescaledb_information.dimensions WHERE hypertable_schema = 'pulse'"
            " ORDER BY 1"
        ).fetchall()
    assert [(r[0], r[1], r[2].days) for r in rows] == [
        ("metric_points", "timestamp", 1),
        ("spans", "timestamp", 1),
        ("traces", "timestamp", 1),
    ]


def test_hypertables_exactly_when_timescaledb(backend):
    expected = ["metric_points", "spans", "traces"] if backend.timescale else []
    assert hypertables(backend.url) == expected


def test_filter_indexes_exist(backend):
    with psycopg.connect(backend.url) as conn:
        names = {
            r[0]
            for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'pulse'"
            ).fetchall()
        }
    for wanted in (
        "traces_session_idx",
        "traces_provider_idx",
        "traces_model_requested_idx",
        "traces_model_used_idx",
        "traces_status_idx",
        "spans_source_idx",
        "spans_kind_idx",
        "spans_tool_name_idx",
        "spans_status_idx",
    ):
        assert wanted in names


def test_migration_files_are_numbered_in_order():
    numbers = [n for n, _, _ in migration_files()]
    assert numbers == sorted(numbers) and numbers[0] == 1


def test_concurrent_migrations_on_a_fresh_database_apply_once(backend):
    """Scale-out: several processes starting at once must not race the schema."""
    name = f"pulse_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(backend.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(backend.url, name)
    results, errors = [], []

    def run():
        try:
            results.append(migrate(url, "auto"))
        except Exception as exc:  # noqa: BLE001 - recorded and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == []
        applied = sorted(len(r.applied) for r in results)
        assert applied == [0, 0, 0, len(migration_files())]
        assert columns(url, "traces") >= TRACE_COLUMNS
    finally:
        with psycopg.connect(backend.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
