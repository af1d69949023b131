"""Record assembly with Claude Code (issue 12 acceptance 3): its logs export and its beta traces
export (``CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1``, captured from the real CLI in
tests/data/otlp/captures/claude-code) replayed in both orders give the same trace rows, with
Claude Code's own cost, ``duration_ms`` and output text."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_project
from tests.helpers import eventually
from tests.support.otlp import PROTO, comparable, drained, rows

CAPTURE = Path(__file__).parents[1] / "data" / "otlp" / "captures" / "claude-code"
EXPORTS = [("/v1/traces", CAPTURE / "01-traces.pb"), ("/v1/logs", CAPTURE / "02-logs.pb")]


async def _replay(http, pipeline, pool, order) -> list[dict]:
    project = await make_project(pool, "claude-code")
    headers = {**project.headers, "Content-Type": PROTO}
    for _ in range(2):  # the second pass is a redelivery
        for route, path in order:
            r = await http.post(route, content=path.read_bytes(), headers=headers)
            assert r.status_code == 200, r.text
            await drained(pipeline)
    await eventually(lambda: rows(http, project, "traces"), lambda t: len(t) >= 2)
    return [{k: v for k, v in r.items() if k not in ("ingestedAt", "projectId")}
            for r in comparable(await rows(http, project, "traces"), "traceId")]


async def test_logs_and_beta_traces_in_either_order_give_the_same_traces(http, pool, pipeline):
    traces_first = await _replay(http, pipeline, pool, EXPORTS)
    logs_first = await _replay(http, pipeline, pool, EXPORTS[::-1])
    assert traces_first == logs_first
    assert len(traces_first) == 2
    by_latency = sorted(traces_first, key=lambda t: t["latencyMs"])
    assert [t["latencyMs"] for t in by_latency] == [60, 775]  # Claude Code's duration_ms
    for t in traces_first:
        assert t["metadata"]["cost_source"] == "client"
        assert t["outputText"] and t["requestBody"]["messages"]
