"""Known bugs (issue 12/16 follow-ups): Claude Code tool events without ``tool_use_id`` get a
span id from stable content (re-sending never duplicates), and Codex events the mapping does not
use are counted in the outcome (``dropped``), not silently ignored."""

from __future__ import annotations

from pathlib import Path

from pulse.mapping import decode_logs_request, map_logs
from tests.mapping.otlp_builders import log_records

CAPTURES = Path(__file__).parents[1] / "data" / "otlp" / "captures"
TOOL_RESULT = {"event.name": "tool_result", "session.id": "s1", "prompt.id": "p1",
               "event.sequence": "11", "tool_name": "Bash", "success": "true",
               "duration_ms": "257"}
API_REQUEST = {"event.name": "api_request", "session.id": "s1", "prompt.id": "p1",
               "event.sequence": "8", "model": "claude-sonnet-4-5", "input_tokens": "1",
               "output_tokens": "1", "duration_ms": "100", "request_id": "req_1"}


def test_claude_code_tool_span_without_tool_use_id_is_stable_across_resends():
    alone = map_logs(log_records(TOOL_RESULT)).spans
    keep = [map_logs(log_records(API_REQUEST, TOOL_RESULT)) for _ in range(3)]
    ids = {s.span_id for r in keep for s in r.spans if s.kind == "tool_use"}
    ids |= {s.span_id for s in alone if s.kind == "tool_use"}
    assert len(ids) == 1


def test_claude_code_tool_events_without_id_stay_apart():
    other = {**TOOL_RESULT, "event.sequence": "12", "tool_name": "Read"}
    spans = [s for s in map_logs(log_records(TOOL_RESULT, other)).spans if s.kind == "tool_use"]
    assert sorted(s.tool_name for s in spans) == ["Bash", "Read"]
    assert len({s.span_id for s in spans}) == 2


def test_codex_events_not_mapped_are_counted():
    def mapped(name: str):
        body = (CAPTURES / "codex-cli-logs" / name).read_bytes()
        return map_logs(decode_logs_request(body, "application/x-protobuf"))

    first, second = mapped("01-logs.pb"), mapped("02-logs.pb")
    # 01: 2 startup_phase, 1 turn_ttft, 6 sse_events that are not response.completed
    assert first.dropped == 9
    # 02: 8 sse_events that are not response.completed, 1 record of no family
    assert second.dropped == 9
    assert first.messages and second.messages


def test_negative_duration_is_ignored_not_a_lost_export():
    """A negative ``duration_ms`` would put the start past what a timestamp holds (the whole
    export was lost as "could not be mapped"); it is treated as absent."""
    negative = {**TOOL_RESULT, "tool_use_id": "toolu_1", "duration_ms": str(-2**62)}
    result = map_logs(log_records(API_REQUEST, negative))
    assert result.rejected == 0 and not result.errors
    (tool,) = [s for s in result.spans if s.kind == "tool_use"]
    assert tool.duration_ms is None
    codex = {"event.name": "codex.tool_result", "conversation.id": "c1", "call_id": "call_1",
             "duration_ms": str(-2**62), "tool_name": "shell"}
    result = map_logs(log_records(codex, scope="codex_otel", service="codex_cli_rs"))
    assert result.rejected == 0 and not result.errors and result.spans
