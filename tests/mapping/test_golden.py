"""Golden tests: every fixture in tests/data/otlp, decoded from OTLP/JSON and from protobuf, maps to
its ``.expected.json`` (docs/mapping.md §Golden fixtures; fields present in the expected file)."""

from __future__ import annotations

import json

import pytest

from pulse.mapping import (
    decode_logs_request,
    decode_metrics_request,
    decode_traces_request,
    map_logs,
    map_traces,
)
from pulse.mapping.signals import map_metrics_result
from tests.mapping.golden import DATA, decode, expected_path, fixtures, mapped, mismatches

FIXTURES = fixtures()


def test_every_fixture_has_an_expected_file() -> None:
    assert len(FIXTURES) >= 16
    missing = [p.name for p in FIXTURES if not expected_path(p).exists()]
    assert missing == []


@pytest.mark.parametrize("via", ["json", "protobuf"])
@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_maps_to_expected(path, via) -> None:
    expected = json.loads(expected_path(path).read_text())
    expected.pop("family", None)
    actual = mapped(path, via)
    problems = mismatches(expected, actual)
    assert problems == [], "\n".join(problems[:20])


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_maps_without_swallowed_exceptions(path) -> None:
    signal, msg = decode(path, "json")
    mapper = {"traces": map_traces, "logs": map_logs, "metrics": map_metrics_result}[signal]
    assert mapper(msg).errors == []


CAPTURES = sorted((DATA / "captures").rglob("*.pb"))


@pytest.mark.parametrize("path", CAPTURES, ids=[f"{p.parent.name}/{p.stem}" for p in CAPTURES])
def test_real_client_capture_maps_without_swallowed_exceptions(path) -> None:
    """Every export a real client sent (tests/data/otlp/captures) maps without a hidden error."""
    signal = path.stem.split("-", 1)[1]
    decoders = {"traces": decode_traces_request, "logs": decode_logs_request,
                "metrics": decode_metrics_request}
    mapper = {"traces": map_traces, "logs": map_logs, "metrics": map_metrics_result}[signal]
    result = mapper(decoders[signal](path.read_bytes(), "application/x-protobuf"))
    assert result.errors == [] and result.rejected == 0


def test_captures_are_there() -> None:
    assert len(CAPTURES) >= 40
