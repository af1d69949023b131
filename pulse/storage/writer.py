"""Writes records: COPY into a per-connection staging table, then one
``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` into the real table, in one transaction.

Idempotence (SPEC.md §6-7): the primary key is ``(project_id, id, timestamp)``; in addition the
INSERT skips ids that already exist in the project at another timestamp, and duplicates inside one
batch collapse to one row. Redelivery therefore never creates a second row nor double-counts.

Rollups (storage/rollups.py) are folded in the same transaction from the rows the INSERT really
inserted, so they can never disagree with the raw rows.

Rows are ``(project_id, record)`` pairs so one batch may span projects (the writer loop drains a
queue shared by all projects).

Which columns are written and where each value comes from is the column table of
``pulse/row_shapes.py``; this module only turns it into statements and row tuples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from pulse import row_shapes
from pulse.records import RawJson, SpanRecord, TraceRecord
from pulse.storage import guard, rollups, sqlstate

YIELD_EVERY_ROWS = 256


def _json(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, RawJson):  # serialized upstream (see records.RawJson)
        return str(value)
    return orjson.dumps(value).decode("utf-8")


@dataclass(frozen=True, slots=True)
class _Table:
    name: str
    key: str
    columns: tuple[str, ...]  # the written columns, in the order of ``to_row``'s tuples
    to_row: Callable[[UUID, Any], tuple[Any, ...]]

    @property
    def stage(self) -> str:
        return f"pulse_{self.name}_stage"

    def create_stage_sql(self) -> str:
        return (
            f"CREATE TEMP TABLE IF NOT EXISTS {self.stage}"
            f" (LIKE pulse.{self.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )

    def copy_sql(self) -> str:
        return f"COPY {self.stage} ({', '.join(self._quoted())}) FROM STDIN"

    def insert_sql(self) -> str:
        """The INSERT; the rows it really inserted land in ``pulse_<name>_new`` (rollups.py)."""
        cols = ", ".join(self._quoted())
        picked = ", ".join(f"s.{c}" for c in self._quoted())
        return (
            f"WITH ins AS (INSERT INTO pulse.{self.name} ({cols})"
            f" SELECT DISTINCT ON (s.project_id, s.{self.key}) {picked} FROM {self.stage} s"
            f" WHERE NOT EXISTS (SELECT 1 FROM pulse.{self.name} t"
            f"  WHERE t.project_id = s.project_id AND t.{self.key} = s.{self.key})"
            f' ORDER BY s.project_id, s.{self.key}, s."timestamp"'
            f" ON CONFLICT DO NOTHING RETURNING {rollups.returning(self.name)})"
            f" INSERT INTO {rollups.new_table(self.name)} SELECT * FROM ins"
        )

    def _quoted(self) -> list[str]:
        return [f'"{c}"' if c == "timestamp" else c for c in self.columns]


def _compile_row(columns: tuple[row_shapes.Column, ...]) -> Callable[[UUID, Any], tuple[Any, ...]]:
    """The row function of a table, compiled once from its column table (pulse/row_shapes.py).

    It is the function this module used to spell out by hand, e.g. for traces
    ``lambda project_id, r: (r.trace_id, project_id, r.session_id, ..., _json(r.request_body),
    ..., _json(r.metadata or {}), r.otel.trace_id, ...)``, one value per written column in
    table order. Generated so the column table stays the only spelling of the row; compiled (not
    ``operator.attrgetter``) because this runs for every stored row and plain attribute access
    is the fastest there is (attrgetter measured about 0.5 us slower per row).
    """
    names: dict[str, Any] = {"_json": _json}
    values = []
    for c in columns:
        if c.source == row_shapes.PROJECT:
            values.append("project_id")
            continue
        if not all(part.isidentifier() for part in c.source.split(".")):
            raise ValueError(f"column {c.name}: source {c.source!r} is not an attribute path")
        value = f"r.{c.source}"
        if c.empty is not None:
            names[f"_empty_{c.name}"] = c.empty
            value = f"({value} or _empty_{c.name})"
        values.append(f"_json({value})" if c.json else value)
    code = f"lambda project_id, r: ({', '.join(values)},)"
    return eval(code, names)  # noqa: S307 - built from the constant column table only


def _table(name: str, key: str, shape: tuple[row_shapes.Column, ...]) -> _Table:
    written = row_shapes.written(shape)
    columns = tuple(c.name for c in written)
    return _Table(name, key, columns, guard.guarded(name, columns, _compile_row(written)))


TRACES = _table("traces", "trace_id", row_shapes.TRACES)
SPANS = _table("spans", "span_id", row_shapes.SPANS)


@dataclass(frozen=True, slots=True)
class WriteResult:
    traces_inserted: int = 0
    spans_inserted: int = 0


async def _write_table(
    conn: AsyncConnection, table: _Table, items: Sequence[tuple[UUID, Any]]
) -> int:
    await conn.execute(table.create_stage_sql())
    await conn.execute(rollups.create_new_sql(table.name))
    async with conn.cursor() as cur:
        async with cur.copy(table.copy_sql()) as copy:
            for n, (project_id, record) in enumerate(items, 1):
                await copy.write_row(table.to_row(project_id, record))
                if n % YIELD_EVERY_ROWS == 0:
                    # write_row buffers without yielding: let the event loop answer ingest
                    # requests between chunks of a large batch (ack latency tail)
                    await asyncio.sleep(0)
        for statement in rollups.before_insert(table.name):
            await cur.execute(statement)
        await cur.execute(table.insert_sql())
        inserted = cur.rowcount
        if inserted:  # only newly inserted rows reach the rollups: redelivery never counts twice
            for statement in rollups.after_insert(table.name):
                await cur.execute(statement)
        return inserted


async def write_records(
    pool: AsyncConnectionPool, items: Sequence[tuple[UUID, TraceRecord | SpanRecord]]
) -> WriteResult:
    """Store ``(project_id, record)`` pairs in one transaction; return how many rows were new.

    Errors carry their meaning (DESIGN.md): connection trouble raises ``Retryable`` (keep the
    batch, try again later); the database refusing the data raises ``Unstorable`` (retrying the
    same rows cannot help; the caller isolates the bad one).
    """
    traces = [(p, r) for p, r in items if isinstance(r, TraceRecord)]
    spans = [(p, r) for p, r in items if isinstance(r, SpanRecord)]
    try:
        async with pool.connection() as conn, conn.transaction():
            t = await _write_table(conn, TRACES, traces) if traces else 0
            s = await _write_table(conn, SPANS, spans) if spans else 0
    except RETRYABLE_ERRORS as exc:
        raise sqlstate.classify(exc) from exc  # by SQLSTATE: 54000 is an OperationalError too
    except psycopg.Error as exc:
        raise sqlstate.classify(exc) from exc
    return WriteResult(traces_inserted=t, spans_inserted=s)


def _no_nul(text: str) -> str:
    return text.replace("\x00", "\ufffd")


# Connection-level failures: the server is down, restarting, or out of connections.
RETRYABLE_ERRORS = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    psycopg.errors.AdminShutdown,
    psycopg.errors.CannotConnectNow,
    psycopg.errors.TooManyConnections,
    psycopg.errors.SerializationFailure,
    psycopg.errors.DeadlockDetected,
    PoolTimeout,
)


async def write_dead_letters(
    pool: AsyncConnectionPool, items: Sequence[tuple[UUID | None, str, str, str]]
) -> None:
    """Park refused data: ``(project_id, kind, payload_json, reason)`` rows."""
    try:
        async with pool.connection() as conn, conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO pulse.dead_letters (project_id, kind, payload, reason)"
                " VALUES (%s, %s, %s, %s)",
                [(p, k, _no_nul(payload), _no_nul(reason)) for p, k, payload, reason in items],
            )
    except RETRYABLE_ERRORS as exc:
        raise sqlstate.classify(exc) from exc
