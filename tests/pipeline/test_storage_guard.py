"""The storage guard (pulse/storage/guard.py): values no index can hold are cut before COPY.

Written straight through ``storage.writer.write_records`` (no mapping bounds in front), with
incompressible multi-byte text in every indexed column at once: without the guard PostgreSQL
refuses the row (SQLSTATE 54000, index row size exceeds the btree maximum).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import replace

import pytest

from pulse.records import MetricPoint, SpanRecord
from pulse.storage import guard, metric_points, writer
from tests.conftest import make_project
from tests.pipeline.test_writer_loop_faults import T0, good_trace, rows

ALPHABET = "abcXYZ019éßжλ中文字😀🚀𝄞"  # 1- to 4-byte UTF-8 characters


def noise(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(ALPHABET) for _ in range(n))


@pytest.mark.parametrize("text", ["", "short", "é" * 300, "😀" * 200, "a" * 511 + "😀",
                                  noise(3000, 1)])
def test_cut_utf8_keeps_a_prefix_within_the_budget(text):
    cut = guard.cut_utf8(text)
    assert len(cut.encode()) <= guard.INDEX_TEXT_MAX_BYTES
    assert text.startswith(cut)
    if len(text.encode()) <= guard.INDEX_TEXT_MAX_BYTES:
        assert cut == text
    else:  # as long as fits: one more character would exceed the budget
        assert len(text[: len(cut) + 1].encode()) > guard.INDEX_TEXT_MAX_BYTES


async def test_every_indexed_text_column_is_cut_so_the_row_lands(pool):
    project = await make_project(pool)
    big = [noise(3000, seed) for seed in range(10)]
    trace = replace(good_trace(1), session_id=big[0], provider=big[1], model_requested=big[2],
                    model_used=big[3])
    span = SpanRecord(span_id=uuid.uuid4(), session_id=big[4], timestamp=T0, source="claude_code",
                      kind="tool_use", event_type="post_tool_use", status=big[5],
                      tool_name=big[6], tool_use_id=big[7])
    result = await writer.write_records(pool, [(project.id, trace), (project.id, span)])
    assert (result.traces_inserted, result.spans_inserted) == (1, 1)
    (t,) = await rows(pool, "SELECT session_id, provider, model_requested, model_used"
                            " FROM pulse.traces WHERE project_id = %s", project.id)
    (s,) = await rows(pool, "SELECT session_id, status, tool_name, tool_use_id"
                            " FROM pulse.spans WHERE project_id = %s", project.id)
    for stored, original in zip((*t, *s), big[:8], strict=True):
        assert original.startswith(stored)
        assert 0 < len(stored.encode()) <= guard.INDEX_TEXT_MAX_BYTES


async def test_a_metric_name_no_index_can_hold_is_cut_so_the_point_lands(pool):
    project = await make_project(pool)
    name = noise(3000, 42)
    point = MetricPoint(timestamp=T0, name=name, value=1.0, attributes={"k": "v"})
    assert await metric_points.write_metric_points(pool, [(project.id, point)]) == 1
    (stored,) = await rows(pool, "SELECT name FROM pulse.metric_points WHERE project_id = %s",
                           project.id)
    assert name.startswith(stored[0]) and len(stored[0].encode()) <= guard.INDEX_TEXT_MAX_BYTES
