"""Record assembly in the writer's transaction: pieces of a trace row that is already stored (or
that an earlier piece of the same batch created) are merged into it.

The writer's insert statement (storage/writer.py) stores the first piece of each new key; every
other staged piece is a *leftover*. For leftovers this module, in the same transaction:

1. locks their key rows (``pulse.trace_keys ... FOR UPDATE``, in key order), so concurrent
   writers of one key merge one after the other, and reads the stored rows;
2. folds every piece into its stored row with the merge function ``main`` passes in
   (``pulse.mapping.merge_trace_rows``: commutative, associative, idempotent), storage never
   imports mapping;
3. replaces each row that changed (DELETE + INSERT: the timestamp may move to another chunk) and
   moves its key's timestamp; the replaced rows land in ``pulse_traces_gone``, their
   replacements in ``pulse_traces_new``, and rollup_deltas.after_merge_traces() takes the old
   contribution out after the new one went in, so analytics stay exact.

A redelivered piece merges to the stored row unchanged and writes nothing. Only OTel-derived
rows (``otel_span_id`` set) are assembled: a native record is whole, and a client that re-sends
its id with other values keeps the first stored row (docs/api.md, idempotence).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from pulse.storage import rollups

log = logging.getLogger("pulse.storage.assembly")

MergeRows = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]

# Staged pieces the insert statement did not store: keys that existed, and later pieces of a key
# first seen in this batch (the insert takes, per key, the earliest timestamp then the lowest
# piece number).
_LEFTOVERS = """
WITH chosen AS (
    SELECT DISTINCT ON (s.project_id, s.trace_id) s.project_id, s.trace_id, s.piece_no
    FROM pulse_traces_stage s JOIN pulse_traces_new n
      ON n.project_id = s.project_id AND n.trace_id = s.trace_id AND n.ts = s."timestamp"
    ORDER BY s.project_id, s.trace_id, s.piece_no)
SELECT s.* FROM pulse_traces_stage s
WHERE NOT EXISTS (SELECT 1 FROM chosen c WHERE c.project_id = s.project_id
                  AND c.trace_id = s.trace_id AND c.piece_no = s.piece_no)
ORDER BY s.project_id, s.trace_id, s.piece_no
"""
# Lock first, read after, in two statements: a writer that waited for the lock must read the
# row another writer's merge just committed (a new statement's snapshot), not the one its own
# snapshot saw when the wait began.
_LOCK = """
SELECT project_id, trace_id, "timestamp" FROM pulse.trace_keys
WHERE (project_id, trace_id) IN (SELECT * FROM unnest(%s::uuid[], %s::uuid[]))
ORDER BY project_id, trace_id
FOR UPDATE
"""
_READ = """
SELECT t.* FROM pulse.traces t JOIN unnest(%s::uuid[], %s::uuid[], %s::timestamptz[])
    AS u(p, i, ts) ON t.project_id = u.p AND t.trace_id = u.i AND t."timestamp" = u.ts
"""
_UNNEST = 'unnest(%s::uuid[], %s::uuid[], %s::timestamptz[]) AS u(p, i, ts)'
_MERGED = "pulse_traces_merged"


def _delete_sql() -> str:
    return (
        f"WITH d AS (DELETE FROM pulse.traces t USING {_UNNEST}"
        ' WHERE t.project_id = u.p AND t.trace_id = u.i AND t."timestamp" = u.ts'
        f" RETURNING {rollups.returning('traces')})"
        f" INSERT INTO {rollups.gone_table('traces')} SELECT * FROM d"
    )


def _insert_sql(columns: list[str]) -> str:
    cols = ", ".join(columns)
    return (
        f"WITH ins AS (INSERT INTO pulse.traces ({cols}) SELECT {cols} FROM {_MERGED}"
        f" RETURNING {rollups.returning('traces')})"
        f" INSERT INTO {rollups.new_table('traces')} SELECT * FROM ins"
    )


_MOVE_KEYS = (
    f'UPDATE pulse.trace_keys k SET "timestamp" = u.ts FROM {_UNNEST}'
    " WHERE k.project_id = u.p AND k.trace_id = u.i"
)
_NOT_WRITTEN = ("ingested_at",)  # kept from the stored row by the merge (a column default)


async def merge_trace_pieces(
    conn: AsyncConnection,
    merge: MergeRows,
    columns: tuple[str, ...],
    to_text: Callable[[Any], Any],
    json_columns: frozenset[str],
) -> int:
    """Merge the staged leftover pieces into their stored rows; return how many rows changed.

    ``columns`` are the written columns (the writer's column table), ``to_text`` how JSON values
    are written, ``json_columns`` which columns hold JSON.
    """
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_LEFTOVERS)
        leftovers = await cur.fetchall()
        pieces: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
        for piece in leftovers:
            piece.pop("piece_no", None)
            if piece["otel_span_id"] is None:
                continue  # native records are whole: a resent id keeps its first stored row
            pieces.setdefault((piece["project_id"], piece["trace_id"]), []).append(piece)
        if not pieces:
            return 0
        keys = sorted(pieces, key=lambda k: (str(k[0]), str(k[1])))
        await cur.execute(_LOCK, ([k[0] for k in keys], [k[1] for k in keys]))
        locked = await cur.fetchall()
        await cur.execute(_READ, ([r["project_id"] for r in locked],
                                  [r["trace_id"] for r in locked],
                                  [r["timestamp"] for r in locked]))
        stored = {(r["project_id"], r["trace_id"]): r for r in await cur.fetchall()}
    changed: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for key in keys:
        old = stored.get(key)
        if old is None or old["otel_span_id"] is None:  # no row, or a native one: keep as is
            continue
        try:
            base = merge(old, old)  # the stored row with its ranks normalised
            new = base
            for piece in pieces[key]:
                new = merge(new, piece)
        except Exception:  # a merge bug must not stall the writer: keep the stored row
            log.exception("record assembly: merging into %s failed; stored row kept", key)
            continue
        if any(new.get(c) != base.get(c) for c in columns):
            changed.append((old, new))
    if not changed:
        return 0
    await _replace(conn, changed, [*columns, *_NOT_WRITTEN], to_text, json_columns)
    return len(changed)


async def _replace(conn, changed, columns, to_text, json_columns) -> None:
    old_ids = ([o["project_id"] for o, _ in changed], [o["trace_id"] for o, _ in changed],
               [o["timestamp"] for o, _ in changed])
    new_ts = [n["timestamp"] for _, n in changed]
    async with conn.cursor() as cur:
        await cur.execute(rollups.create_new_sql("traces", rollups.gone_table("traces")))
        await cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_MERGED}"
            " (LIKE pulse.traces INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        await cur.execute(_delete_sql(), old_ids)
        quoted = [f'"{c}"' if c == "timestamp" else c for c in columns]
        async with cur.copy(f"COPY {_MERGED} ({', '.join(quoted)}) FROM STDIN") as copy:
            for _, new in changed:
                await copy.write_row(tuple(
                    to_text(new.get(c)) if c in json_columns else new.get(c) for c in columns
                ))
        await cur.execute(_insert_sql(quoted))
        await cur.execute(_MOVE_KEYS, (old_ids[0], old_ids[1], new_ts))
