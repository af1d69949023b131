"""Issue 15 (sub-agents from Pulse CLI hooks): a sub-agent arrives as ``subagent_start`` and
``subagent_stop`` agent_run rows sharing ``metadata.agent_id``; ``GET /v1/analytics/spans``
counts it as ONE agent run (a stop whose start is outside the range still counts)."""

from __future__ import annotations

from tests.factories import span_item

SESSION = "hooks-subagent"


def hooks_session(session: str = SESSION) -> list[dict]:
    """A Claude Code hooks session: one sub-agent (a1) running two tools, one tool outside it,
    and an OTel-style agent run without a pair."""
    def run(ts, event, agent_id=None, **kw):
        meta = {"agent_id": agent_id} if agent_id else {}
        return span_item(session_id=session, timestamp=ts, kind="agent_run", event_type=event,
                         tool_use_id=None, tool_name=None, tool_input=None, duration_ms=None,
                         agent_name="Explore", metadata=meta, **kw)

    def tool(ts, use, name, agent_id=None):
        meta = {"agent_id": agent_id} if agent_id else {}
        return [span_item(session_id=session, timestamp=ts, event_type="pre_tool_use",
                          tool_use_id=use, tool_name=name, duration_ms=None, metadata=meta),
                span_item(session_id=session, timestamp=ts.replace(":01Z", ":02Z"),
                          event_type="post_tool_use", tool_use_id=use, tool_name=name,
                          duration_ms=None, metadata=meta)]

    return [
        *tool("2026-01-25T12:00:01Z", f"{session}-t0", "Read"),
        run("2026-01-25T12:01:00Z", "subagent_start", "a1"),
        *tool("2026-01-25T12:02:01Z", f"{session}-t1", "Glob", "a1"),
        *tool("2026-01-25T12:03:01Z", f"{session}-t2", "Grep", "a1"),
        run("2026-01-25T12:04:30Z", "subagent_stop", "a1"),
        run("2026-01-25T12:05:00Z", "invoke_agent"),
    ]


async def test_a_hooks_sub_agent_is_one_agent_run(http, project):
    r = await http.post("/v1/spans/batch", json=hooks_session(), headers=project.headers)
    assert r.is_success, r.text
    get = lambda **p: http.get("/v1/analytics/spans", params=p,  # noqa: E731
                               headers=project.headers)
    body = (await get(date_from="2026-01-25T00:00:00Z", date_to="2026-01-25T23:59:59Z")).json()
    assert body["agentRuns"] == 2  # the paired sub-agent + the unpaired run
    assert body["toolCalls"] == 3
    # a range that holds only the stop: it is the only trace of the run there, and counts
    body = (await get(date_from="2026-01-25T12:04:00Z", date_to="2026-01-25T12:06:00Z")).json()
    assert body["agentRuns"] == 2
