"""The storage guard: no row value that an index cannot hold ever reaches COPY.

A btree index row holds at most 2704 bytes (PostgreSQL: "Values larger than 1/3 of a buffer page
cannot be indexed"), for all its columns together, after compression; a longer value makes the
whole INSERT fail with SQLSTATE 54000. The write-side bounds of the mapping
(``pulse/mapping/bounds.py``) already cut identifier-like fields and say so in the record's
metadata; this guard is the defence in depth for any field a mapping path forgot: every text
column that is part of an index (in the raw tables or, through them, in the rollup keys) is cut
to ``INDEX_TEXT_MAX_BYTES`` UTF-8 bytes, on a character boundary, right before the row is copied.

The budget is per column so that any index stays within the limit whatever it combines: the
widest key, ``trace_counts_hourly`` (provider, model_requested, model_used, status), holds four
such columns: 4 x 512 bytes plus a uuid, a timestamp and headers is about 2.1 kB < 2704.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

INDEX_TEXT_MAX_BYTES = 512
_SAFE_CHARS = INDEX_TEXT_MAX_BYTES // 4  # a string this short can never exceed the budget

# The text columns that appear in an index, per table (migrations 001, 004, 008-011); metric
# points cut their name (the only indexed text column, migration 003) in metric_points.py.
INDEXED_TEXT: dict[str, frozenset[str]] = {
    "traces": frozenset({"session_id", "provider", "model_requested", "model_used", "status"}),
    "spans": frozenset({"session_id", "source", "kind", "tool_name", "status", "tool_use_id"}),
}


def cut_utf8(text: str, max_bytes: int = INDEX_TEXT_MAX_BYTES) -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes, never inside a character."""
    if len(text) <= max_bytes // 4:
        return text
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) <= max_bytes:
        return text
    return raw[:max_bytes].decode("utf-8", "ignore")  # "ignore" drops a cut character's head


def guarded(
    table: str, columns: tuple[str, ...], to_row: Callable[[UUID, Any], tuple[Any, ...]]
) -> Callable[[UUID, Any], tuple[Any, ...]]:
    """``to_row`` with every indexed text column of ``table`` cut to the index budget."""
    indexed = INDEXED_TEXT.get(table, frozenset())
    positions = tuple(i for i, name in enumerate(columns) if name in indexed)
    if not positions:
        return to_row

    def row(project_id: UUID, record: Any) -> tuple[Any, ...]:
        values = to_row(project_id, record)
        for i in positions:
            value = values[i]
            if type(value) is str and len(value) > _SAFE_CHARS:
                cut = cut_utf8(value)
                if cut is not value:
                    values = (*values[:i], cut, *values[i + 1:])
        return values

    return row
