"""Writes records: COPY into a per-connection staging table, then one
``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` into the real table, in one transaction.

Idempotence (docs/api.md §Idempotence, §Durability): one row per ``(project_id, id)`` by
construction, whatever the timestamps and however many writers race. The tables' primary key is
``(project_id, id, timestamp)`` (hypertables), so uniqueness of the id lives in the plain key tables
``pulse.trace_keys`` / ``pulse.span_keys`` (migration 014): the statement claims the keys with
``INSERT ... ON CONFLICT DO NOTHING RETURNING`` and inserts only the rows of the keys it claimed.
Duplicates inside one batch collapse to one row. Redelivery never creates a second row nor
double-counts.

Rollups (storage/rollups.py) are folded in the same transaction from the rows the INSERT really
inserted, so they can never disagree with the raw rows.

Rows are ``(project_id, record)`` pairs so one batch may span projects (the writer loop drains a
queue shared by all projects).

Which columns are written and where each value comes from is the column table of
``pulse/row_shapes.py``; this module only turns it into statements and row tuples.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from pulse import row_shapes
from pulse.errors import Retryable, Unstorable
from pulse.records import RawJson, SpanRecord, TraceRecord
from pulse.storage import assembly, rollup_deltas, rollups

YIELD_EVERY_ROWS = 256
DEADLOCK_ATTEMPTS = 4


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
        # piece_no: the position in the batch, which tells the pieces of one key apart
        return (
            f"CREATE TEMP TABLE IF NOT EXISTS {self.stage}"
            f" (LIKE pulse.{self.name} INCLUDING DEFAULTS, piece_no integer)"
            " ON COMMIT DELETE ROWS"
        )

    def copy_sql(self) -> str:
        return f"COPY {self.stage} ({', '.join(self._quoted())}, piece_no) FROM STDIN"

    @property
    def keys(self) -> str:
        return f"pulse.{self.name[:-1]}_keys"  # pulse.trace_keys / pulse.span_keys (migration 014)

    def insert_sql(self) -> str:
        """Claim the keys, then insert the rows of the keys really claimed; the rows inserted
        land in ``pulse_<name>_new`` (rollups.py).

        One row per (project, id) by construction: ``INSERT ... ON CONFLICT DO NOTHING`` on the
        key table's primary key makes a concurrent writer of the same key wait until the first
        commits, then skip it (no racy NOT EXISTS). Keys are claimed in key order, so writers of
        overlapping batches wait on each other instead of deadlocking. Inside one batch the
        earliest copy of an id wins (DISTINCT ON ... ORDER BY timestamp).
        """
        cols = ", ".join(self._quoted())
        picked = ", ".join(f"s.{c}" for c in self._quoted())
        k = self.key
        return (
            f"WITH claimed AS (INSERT INTO {self.keys} (project_id, {k}, \"timestamp\")"
            f' SELECT DISTINCT ON (project_id, {k}) project_id, {k}, "timestamp"'
            f' FROM {self.stage} ORDER BY project_id, {k}, "timestamp"'
            f' ON CONFLICT DO NOTHING RETURNING project_id, {k}, "timestamp"),'
            f" ins AS (INSERT INTO pulse.{self.name} ({cols})"
            f" SELECT DISTINCT ON (s.project_id, s.{k}) {picked} FROM {self.stage} s"
            f" JOIN claimed c ON c.project_id = s.project_id AND c.{k} = s.{k}"
            f' AND c."timestamp" = s."timestamp"'
            f" ORDER BY s.project_id, s.{k}, s.piece_no"
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
    return _Table(name, key, tuple(c.name for c in written), _compile_row(written))


TRACES = _table("traces", "trace_id", row_shapes.TRACES)
SPANS = _table("spans", "span_id", row_shapes.SPANS)


@dataclass(frozen=True, slots=True)
class WriteResult:
    traces_inserted: int = 0
    spans_inserted: int = 0
    traces_merged: int = 0  # stored rows a later piece changed (record assembly)


_TRACE_JSON = frozenset(c.name for c in row_shapes.written(row_shapes.TRACES) if c.json)


async def _write_table(
    conn: AsyncConnection,
    table: _Table,
    items: Sequence[tuple[UUID, Any]],
    merge: assembly.MergeRows | None = None,
) -> tuple[int, int]:
    await conn.execute(table.create_stage_sql())
    await conn.execute(rollups.create_new_sql(table.name))
    async with conn.cursor() as cur:
        async with cur.copy(table.copy_sql()) as copy:
            for n, (project_id, record) in enumerate(items, 1):
                await copy.write_row((*table.to_row(project_id, record), n))
                if n % YIELD_EVERY_ROWS == 0:
                    # write_row buffers without yielding: let the event loop answer ingest
                    # requests between chunks of a large batch (ack latency tail)
                    await asyncio.sleep(0)
        for statement in rollups.before_insert(table.name):
            await cur.execute(statement)
        await cur.execute(table.insert_sql())
        inserted = cur.rowcount
        merged = 0
        if merge is not None and inserted < len(items):  # else every piece got its own row
            merged = await assembly.merge_trace_pieces(
                conn, merge, table.columns, _json, _TRACE_JSON)
        # only new and replaced rows reach the rollups: redelivery never counts twice
        if merged:
            for statement in rollup_deltas.after_merge_traces():
                await cur.execute(statement)
        elif inserted:
            for statement in rollups.after_insert(table.name):
                await cur.execute(statement)
        return inserted, merged


async def write_records(
    pool: AsyncConnectionPool,
    items: Sequence[tuple[UUID, TraceRecord | SpanRecord]],
    merge: assembly.MergeRows | None = None,
) -> WriteResult:
    """Store ``(project_id, record)`` pairs in one transaction; return how many rows were new.

    ``merge`` (``pulse.mapping.merge_trace_rows``, passed in by ``main``) merges trace pieces
    whose row exists into it (storage/assembly.py); without it the first stored piece wins.

    Errors carry their meaning (docs/architecture.md §Errors by meaning): connection trouble raises
    ``Retryable`` (keep the batch, try again later); the database refusing the data raises
    ``Unstorable`` (retrying the same rows cannot help; the caller isolates the bad one).
    """
    traces = [(p, r) for p, r in items if isinstance(r, TraceRecord)]
    spans = [(p, r) for p, r in items if isinstance(r, SpanRecord)]
    try:
        for attempt in range(DEADLOCK_ATTEMPTS):
            try:
                async with pool.connection() as conn, conn.transaction():
                    t, m = await _write_table(conn, TRACES, traces, merge) if traces else (0, 0)
                    s, _ = await _write_table(conn, SPANS, spans) if spans else (0, 0)
                break
            except psycopg.errors.DeadlockDetected:
                # two writers merging into overlapping rollup rows in different orders: the
                # transaction rolled back whole, so running it again is safe
                if attempt == DEADLOCK_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(random.uniform(0.005, 0.05 * (attempt + 1)))
    except RETRYABLE_ERRORS as exc:
        raise Retryable(f"database unavailable: {exc}") from exc
    except psycopg.Error as exc:
        raise Unstorable(f"{type(exc).__name__}: {exc}".strip()) from exc
    return WriteResult(traces_inserted=t, spans_inserted=s, traces_merged=m)


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
        raise Retryable(f"database unavailable: {exc}") from exc
