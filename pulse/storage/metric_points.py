"""OTLP metric data points: ``pulse.metric_points`` (migration 003).

Writes are idempotent: a point is keyed by ``(project_id, name, timestamp, series_hash)`` where
``series_hash`` is the md5 of the canonical JSON of its attributes, and inserted with ``ON CONFLICT
DO NOTHING`` - an exporter retrying an export never double counts (docs/mapping.md §Metrics).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from pulse.errors import Retryable, Unstorable
from pulse.records import MetricPoint
from pulse.storage.writer import RETRYABLE_ERRORS

_INSERT = """
INSERT INTO pulse.metric_points
    (project_id, "timestamp", name, value, attributes, temporality, unit, service_name,
     series_hash)
SELECT t.project_id, t.ts, t.name, t.value, t.attributes::jsonb, t.temporality, t.unit,
       t.service_name, t.series_hash
FROM unnest(%s::uuid[], %s::timestamptz[], %s::text[], %s::float8[], %s::text[], %s::text[],
            %s::text[], %s::text[], %s::text[])
     AS t(project_id, ts, name, value, attributes, temporality, unit, service_name, series_hash)
ON CONFLICT DO NOTHING
"""


def _clean(value: Any) -> Any:
    """JSON-able copy without NUL characters (jsonb refuses ``\\u0000``)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_clean(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def canonical_attributes(attributes: dict[str, Any]) -> str:
    """The attributes as canonical JSON (sorted keys): the identity of a series."""
    return orjson.dumps(
        _clean(attributes or {}), option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
    ).decode("utf-8")


def series_hash(attributes_json: str) -> str:
    return hashlib.md5(attributes_json.encode("utf-8"), usedforsecurity=False).hexdigest()


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)  # None: the database refuses the point


def _text(value: str | None) -> str | None:
    return None if value is None else value.replace("\x00", "\ufffd")


async def write_metric_points(
    pool: AsyncConnectionPool, items: Sequence[tuple[UUID, MetricPoint]]
) -> int:
    """Insert ``(project_id, point)`` pairs in one statement; return how many were new."""
    if not items:
        return 0
    columns: list[list[Any]] = [[] for _ in range(9)]
    for project_id, p in items:
        attrs = canonical_attributes(p.attributes)
        row = (project_id, p.timestamp, _text(p.name), _float(p.value), attrs, p.temporality,
               _text(p.unit), _text(p.service_name), series_hash(attrs))
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    try:
        async with pool.connection() as conn, conn.cursor() as cur:
            await cur.execute(_INSERT, columns)
            return max(cur.rowcount, 0)
    except RETRYABLE_ERRORS as exc:
        raise Retryable(f"database unavailable: {exc}") from exc
    except psycopg.Error as exc:
        raise Unstorable(f"{type(exc).__name__}: {exc}".strip()) from exc


async def list_metric_points(
    pool: AsyncConnectionPool,
    project_id: UUID,
    *,
    name: str | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """A project's points, oldest first (optionally one metric and a time range)."""
    query = (
        'SELECT "timestamp", name, value, attributes, temporality, unit, service_name'
        " FROM pulse.metric_points WHERE project_id = %s"
        " AND (%s::text IS NULL OR name = %s)"
        ' AND (%s::timestamptz IS NULL OR "timestamp" >= %s)'
        ' AND (%s::timestamptz IS NULL OR "timestamp" <= %s)'
        ' ORDER BY "timestamp", name, series_hash LIMIT %s'
    )
    params = (project_id, name, name, date_from, date_from, date_to, date_to, limit)
    try:
        async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            return list(await cur.fetchall())
    except RETRYABLE_ERRORS as exc:
        raise Retryable(f"database unavailable: {exc}") from exc
