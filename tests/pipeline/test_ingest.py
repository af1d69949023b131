"""The one ingest entry, ``Ingestor.ingest``: OTLP exports (raw bytes, mapped once) and validated
native records, ``wait="durable"`` (queued) and ``wait="commit"`` (stored), and the counts it
keeps. Real queue, real mapping, real database for the commits."""

from __future__ import annotations

import json
import uuid

import pytest

from pulse.errors import InvalidInput
from pulse.main import storage_functions
from pulse.mapping import spans_from_json, traces_from_json
from pulse.pipeline import IngestMetrics, Ingestor, Mapper, OtlpExport, Outcome, Store, codec
from pulse.queue import MemoryQueue
from pulse.storage.metric_points import list_metric_points
from tests.conftest import make_project
from tests.factories import span_item, trace_item
from tests.mapping.golden import expected_path
from tests.support.otlp import JSON, PROTO, body_of, fixture

PROJECT = uuid.UUID(int=11)


async def _never(*args) -> None:
    raise AssertionError("wait='durable' must not touch storage")


def queued_ingestor(store: Store | None = None) -> Ingestor:
    store = store or Store(_never, _never, _never)
    return Ingestor(MemoryQueue(), Mapper(0), store, IngestMetrics())


def count(ingestor: Ingestor, counter: str, label: str) -> float:
    return getattr(ingestor.metrics, counter).labels(label)._value.get()


async def queued(ingestor: Ingestor) -> list[codec.Entry]:
    return [codec.decode(e.payload) for e in await ingestor.queue.read(100, 1 << 30, timeout=0)]


@pytest.mark.parametrize("encoding", [JSON, PROTO])
async def test_an_otlp_export_becomes_one_queue_entry_with_exact_counts(encoding):
    path = fixture("13-")  # valid, invalid and dropped spans
    counts = json.loads(expected_path(path).read_text())["counts"]
    _, body = body_of(path, encoding)
    ingestor = queued_ingestor()
    outcome = await ingestor.ingest(PROJECT, OtlpExport("traces", body, encoding))
    assert outcome.accepted == counts["traces"] + counts["spans"]
    assert outcome.rejected == counts["rejected"] + counts["dropped"] > 0
    assert any("dropped" in m for m in outcome.messages)
    [entry] = await queued(ingestor)
    assert entry.project_id == PROJECT and len(entry.records) == outcome.accepted
    assert count(ingestor, "accepted", "traces") == counts["traces"]
    assert count(ingestor, "accepted", "spans") == counts["spans"]
    assert count(ingestor, "rejected", "otlp_invalid") == counts["rejected"]
    assert count(ingestor, "rejected", "otlp_dropped") == counts["dropped"]


async def test_an_otlp_metrics_export_is_queued_like_traces():
    path = fixture("09-")
    expected = json.loads(expected_path(path).read_text())["counts"]["metrics"]
    ingestor = queued_ingestor()
    _, body = body_of(path, PROTO)
    outcome = await ingestor.ingest(PROJECT, OtlpExport("metrics", body, PROTO))
    assert outcome == Outcome(expected)
    [entry] = await queued(ingestor)
    assert len(entry.points) == expected and entry.records == []
    assert count(ingestor, "accepted", "metric_points") == expected


@pytest.mark.parametrize("signal", ["traces", "logs", "metrics"])
async def test_malformed_and_empty_exports(signal):
    ingestor = queued_ingestor()
    with pytest.raises(InvalidInput):
        await ingestor.ingest(PROJECT, OtlpExport(signal, b"\x0a\xff\xff garbage", PROTO))
    assert count(ingestor, "rejected", "otlp_malformed") == 1
    assert await ingestor.ingest(PROJECT, OtlpExport(signal, b"", PROTO)) == Outcome(0)
    assert await ingestor.ingest(PROJECT, OtlpExport(signal, b"{}", JSON)) == Outcome(0)
    assert ingestor.queue.depth() == 0


async def test_native_records_are_queued_as_given():
    records = traces_from_json([trace_item()]) + spans_from_json([span_item(), span_item()])
    ingestor = queued_ingestor()
    assert await ingestor.ingest(PROJECT, records) == Outcome(3)
    assert await ingestor.ingest(PROJECT, []) == Outcome(0)
    [entry] = await queued(ingestor)
    assert [type(r) for r in entry.records] == [type(r) for r in records]
    assert [getattr(r, "trace_id", None) or r.span_id for r in entry.records] == [
        getattr(r, "trace_id", None) or r.span_id for r in records]


async def test_wait_commit_stores_before_answering_and_skips_the_queue(pool):
    project = await make_project(pool)
    ingestor = queued_ingestor(storage_functions(pool))
    records = traces_from_json([trace_item()])
    assert (await ingestor.ingest(project.id, records, wait="commit")).accepted == 1
    _, body = body_of(fixture("09-"), JSON)
    outcome = await ingestor.ingest(project.id, OtlpExport("metrics", body, JSON), wait="commit")
    assert ingestor.queue.depth() == 0
    assert len(await list_metric_points(pool, project.id)) == outcome.accepted > 0
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT trace_id FROM pulse.traces WHERE project_id = %s",
                                 (project.id,))
        assert [r[0] for r in await cur.fetchall()] == [records[0].trace_id]
