"""The mapping worker pool gives exactly what inline mapping gives, errors included."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from pulse.collector import codec
from pulse.collector.mapper import Mapper, map_export
from pulse.errors import InvalidInput

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
        if signal in ("traces", "logs"):
            found.append((path.name, signal))
    assert len(found) >= 10
    return found


async def test_worker_processes_map_like_inline(fixtures):
    async with Mapper(2) as pooled:
        for name, signal in fixtures:
            inline = map_export(signal, body(name), "application/json", PROJECT, False)
            remote = await pooled.map(signal, body(name), "application/json", PROJECT)
            assert (remote.traces, remote.spans, remote.rejected, remote.dropped) == (
                inline.traces, inline.spans, inline.rejected, inline.dropped), name
            assert remote.messages == inline.messages
            if inline.payload is None:
                assert remote.payload is None
            else:
                # same records (the payload also carries its acceptance time, which differs)
                assert codec.decode(remote.payload).records == codec.decode(inline.payload).records


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
