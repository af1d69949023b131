"""The row shapes of ``pulse.traces`` and ``pulse.spans``, declared once.

One :class:`Column` per database column says everything the other layers need to know about it:
its database name and type (as ``information_schema.columns`` reports them), whether it may be
null, its camelCase key in API rows, where its value comes from on the record
(:mod:`pulse.records`) and whether it holds JSON. Everything else is derived from
:data:`TRACES` and :data:`SPANS`:

* ``storage/writer.py``: the COPY column list and the row tuples (built once per table);
* ``storage/queries.py``: the ``json_build_object`` read projection (key order = table order);
* ``api/openapi.py``: the ``TraceRow`` / ``SpanRow`` schemas of ``/openapi.json``.

Tests hold the table to the database (``tests/storage/test_row_shapes.py`` compares it with
``information_schema.columns`` on both backends) and to the API (``tests/api/test_row_contract.py``
validates what every row-returning route answers against the document).

A column is listed in the order of the API row (the id first, then ``projectId``, ...), which is
not the order of the ``CREATE TABLE``: the writer names its columns, so the order is free.
Adding a column: a migration, a :class:`Column` here, and (if it is written) a record field.

This module imports nothing from the project but ``records``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from pulse.records import TraceStatus

PROJECT = "@project"
"""``Column.source`` of ``project_id``: the project the row is written for, not a record field."""

JsonShape = Literal["object", "any"]

# information_schema data_type -> JSON Schema of the value in an API row
_API_TYPES: dict[str, dict[str, Any]] = {
    "uuid": {"type": "string", "format": "uuid"},
    "text": {"type": "string"},
    "bigint": {"type": "integer"},
    "double precision": {"type": "number"},
    "numeric": {"type": "number"},
    "boolean": {"type": "boolean"},
    # storage renders UTC with milliseconds and Z (queries.py), e.g. 2026-01-25T12:00:00.000Z
    "timestamp with time zone": {
        "type": "string", "format": "date-time",
        "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$",
    },
}


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    """Database column."""
    sql_type: str
    """``information_schema.columns.data_type``, e.g. ``text``, ``jsonb``, ``bigint``."""
    nullable: bool
    api: str | None
    """Key in API rows (camelCase), or None when the API never returns the column."""
    source: str | None
    """Dotted attribute of the record (``otel.trace_id``), :data:`PROJECT`, or None when the
    database fills the column (its default) and the writer never sends it."""
    json: JsonShape | None = None
    """For ``jsonb`` columns: an object, or any JSON value."""
    values: tuple[str, ...] | None = None
    """The only values the column holds (an enum in the API schema)."""
    empty: Any = None
    """What the writer stores when the record holds None or empty (``metadata``: ``{}``)."""

    def api_schema(self) -> dict[str, Any]:
        """JSON Schema of this column's value in an API row (null included when nullable)."""
        if self.values is not None:
            return {"enum": [*self.values, *([None] if self.nullable else [])]}
        if self.json == "any":
            return {}
        schema = {"type": "object"} if self.json == "object" else dict(_API_TYPES[self.sql_type])
        if self.nullable:
            schema["type"] = [schema["type"], "null"]
        return schema


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _col(
    name: str,
    sql_type: str,
    nullable: bool = True,
    *,
    source: str | None = "",
    returned: bool = True,
    **extra: Any,
) -> Column:
    """A column whose API key is its name in camelCase and whose source is the record attribute
    of the same name, unless told otherwise."""
    return Column(name, sql_type, nullable, _camel(name) if returned else None,
                  name if source == "" else source, **extra)


def _otel() -> tuple[Column, ...]:
    """OpenTelemetry identity (null for natively ingested rows): ``record.otel``."""
    return (
        _col("otel_trace_id", "text", source="otel.trace_id"),
        _col("otel_span_id", "text", source="otel.span_id"),
        _col("otel_parent_span_id", "text", source="otel.parent_span_id"),
        _col("service_name", "text", source="otel.service_name"),
    )


_INGESTED_AT = _col("ingested_at", "timestamp with time zone", False, source=None,
                    returned=False)

TRACES: tuple[Column, ...] = (
    _col("trace_id", "uuid", False),
    _col("project_id", "uuid", False, source=PROJECT),
    _col("session_id", "text"),
    _col("timestamp", "timestamp with time zone", False),
    _col("latency_ms", "double precision", False),
    _col("provider", "text", False),
    _col("model_requested", "text", False),
    _col("model_used", "text"),
    _col("provider_request_id", "text"),
    _col("request_body", "jsonb", False, json="object"),
    _col("response_body", "jsonb", json="object"),
    _col("input_tokens", "bigint"),
    _col("output_tokens", "bigint"),
    _col("output_text", "text"),
    _col("finish_reason", "text"),
    _col("status", "text", False, values=get_args(TraceStatus)),
    _col("error", "jsonb", json="object"),
    _col("cost_cents", "numeric"),
    _col("metadata", "jsonb", False, json="object", empty={}),
    # record assembly ranks (migration 015): hidden, read by the merge only
    _col("assembly", "jsonb", json="object", returned=False),
    *_otel(),
    _INGESTED_AT,
)

SPANS: tuple[Column, ...] = (
    _col("span_id", "uuid", False),
    _col("project_id", "uuid", False, source=PROJECT),
    _col("session_id", "text", False),
    _col("parent_span_id", "uuid"),
    _col("timestamp", "timestamp with time zone", False),
    _col("duration_ms", "double precision"),
    _col("source", "text", False),
    _col("kind", "text", False),
    _col("event_type", "text", False),
    _col("status", "text"),
    _col("tool_use_id", "text"),
    _col("tool_name", "text"),
    _col("tool_input", "jsonb", json="any"),
    _col("tool_response", "jsonb", json="any"),
    _col("error", "jsonb", json="any"),
    _col("is_interrupt", "boolean"),
    _col("cwd", "text"),
    _col("model", "text"),
    _col("agent_name", "text"),
    _col("metadata", "jsonb", False, json="object", empty={}),
    # record assembly ranks (migration 015): hidden, read by the merge only
    _col("assembly", "jsonb", json="object", returned=False),
    *_otel(),
    _INGESTED_AT,
)

TABLES: dict[str, tuple[Column, ...]] = {"traces": TRACES, "spans": SPANS}


def written(table: tuple[Column, ...]) -> tuple[Column, ...]:
    """The columns the writer sends (in table order); the database fills the others."""
    return tuple(c for c in table if c.source is not None)


def returned(table: tuple[Column, ...]) -> tuple[Column, ...]:
    """The columns of an API row, in key order."""
    return tuple(c for c in table if c.api is not None)
