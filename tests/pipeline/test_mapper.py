"""The mapping workers: where OTLP bytes are parsed, once. The pool gives exactly what inline
mapping gives, errors included; both encodings map alike; empty and misdirected bodies."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from pulse.errors import InvalidInput
from pulse.pipeline import codec
from pulse.pipeline.mapper import Mapped, Mapper, map_export
from tests.mapping.golden import decode

DATA = Path(__file__).resolve().parents[1] / "data" / "otlp"
PROJECT = uuid.UUID(int=7)


def body(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.fixture(scope="module")
def fixtures() -> list[tuple[str, str]]:
    found = []
    for path in sorted(DATA.glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        expected = json.loads(path.with_name(path.stem + ".expected.json").read_text())
        signal = expected.get("signal", "traces")
        found.append((path.name, signal))
    assert len(found) >= 10 and {signal for _, signal in found} == {"traces", "logs", "metrics"}
    return found


async def test_worker_processes_map_like_inline(fixtures):
    async with Mapper(2) as pooled:
        for name, signal in fixtures:
            inline = map_export(signal, body(name), "application/json", PROJECT, False)
            remote = await pooled.map(signal, body(name), "application/json", PROJECT)
            assert (remote.traces, remote.spans, remote.points, remote.rejected,
                    remote.dropped) == (inline.traces, inline.spans, inline.points,
                                        inline.rejected, inline.dropped), name
            assert remote.messages == inline.messages
            if inline.payload is None:
                assert remote.payload is None
            else:
                # same records (the payload also carries its acceptance time, which differs)
                a, b = codec.decode(remote.payload), codec.decode(inline.payload)
                assert (a.records, a.points) == (b.records, b.points), name


async def test_decode_errors_cross_the_process_boundary_as_invalid_input():
    async with Mapper(1) as pooled:
        with pytest.raises(InvalidInput):
            await pooled.map("traces", b"\x0a\xff\xff garbage", "application/x-protobuf", PROJECT)
        # the pool is still healthy afterwards
        ok = await pooled.map("traces", body("01-otel-genai-current-agent-chat-tool.json"),
                              "application/json", PROJECT)
        assert ok.traces >= 1


async def test_inline_mapper_needs_no_processes():
    async with Mapper(0) as inline:
        assert inline._pool is None
        result = await inline.map("logs", body("06-claude-code-logs-export.json"),
                                  "application/json", PROJECT)
        assert result.traces >= 1 and result.spans >= 1


def test_protobuf_and_json_bodies_map_alike(fixtures):
    for name, signal in fixtures:
        proto = decode(DATA / name, "protobuf")[1].SerializeToString()
        a = map_export(signal, body(name), "application/json", PROJECT, False)
        b = map_export(signal, proto, "application/x-protobuf", PROJECT, False)
        assert (a.traces, a.spans, a.points, a.rejected, a.dropped, a.messages) == (
            b.traces, b.spans, b.points, b.rejected, b.dropped, b.messages), name
        if a.payload is not None:
            da, db = codec.decode(a.payload), codec.decode(b.payload)
            assert (da.records, da.points) == (db.records, db.points), name
    metrics = [n for n, s in fixtures if s == "metrics"]
    assert metrics and map_export("metrics", body(metrics[0]), "application/json", PROJECT,
                                  False).points > 0


@pytest.mark.parametrize("signal", ["traces", "logs", "metrics"])
def test_empty_bodies_are_empty_exports(signal):
    for content_type, empty in (("application/x-protobuf", b""), ("application/json", b" \n")):
        assert map_export(signal, empty, content_type, PROJECT, False) == Mapped(None)


def test_json_array_on_traces_points_to_the_native_route():
    with pytest.raises(InvalidInput, match="/v1/traces/async"):
        map_export("traces", b' [{"trace_id": "x"}]', "application/json", PROJECT, False)
    with pytest.raises(InvalidInput) as err:  # elsewhere, just an invalid export
        map_export("logs", b"[]", "application/json", PROJECT, False)
    assert "/v1/traces/async" not in err.value.message
