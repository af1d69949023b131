"""GET /v1/sessions: LLM-call and agent sessions from the summaries kept on write."""

from __future__ import annotations

from tests.factories import span_item, trace_item


def _prompt(text: str) -> dict:
    return {"model": "gpt-4o", "messages": [{"role": "system", "content": "be nice"},
                                            {"role": "user", "content": text}]}


async def _seed(http, project) -> None:
    traces = [
        trace_item(session_id="chat-1", timestamp="2026-01-25T10:00:01Z", cost_cents=2,
                   request_body=_prompt("second")),
        trace_item(session_id="chat-1", timestamp="2026-01-25T10:00:00Z", cost_cents=1,
                   request_body=_prompt("first question"), status="error"),
        trace_item(session_id="chat-2", timestamp="2026-01-20T08:00:00Z", cost_cents=4),
        trace_item(session_id=None, timestamp="2026-01-25T11:00:00Z"),
    ]
    spans = [
        span_item(session_id="agent-1", timestamp="2026-01-25T12:00:00Z", kind="user_prompt",
                  event_type="user_prompt", tool_use_id=None, tool_name=None,
                  metadata={"prompt": "fix the bug"}),
        span_item(session_id="agent-1", timestamp="2026-01-25T12:00:05Z",
                  event_type="pre_tool_use", tool_use_id="x1"),
        span_item(session_id="agent-1", timestamp="2026-01-25T12:00:06Z", tool_use_id="x1"),
    ]
    assert (await http.post("/v1/traces/batch", json=traces, headers=project.headers)).is_success
    assert (await http.post("/v1/spans/batch", json=spans[:2], headers=project.headers)).is_success
    # the post event arrives in a later batch, and the whole batch is redelivered
    for _ in range(2):
        r = await http.post("/v1/spans/batch", json=spans, headers=project.headers)
        assert r.is_success


async def test_lists_both_kinds_newest_first(http, project):
    await _seed(http, project)
    r = await http.get("/v1/sessions", headers=project.headers)
    assert r.status_code == 200
    body = r.json()
    assert (body["total"], body["limit"], body["offset"]) == (3, 50, 0)
    assert [s["sessionId"] for s in body["sessions"]] == ["agent-1", "chat-1", "chat-2"]
    agent, chat = body["sessions"][0], body["sessions"][1]
    assert agent == {**agent, "kind": "agent", "source": "claude_code", "spanCount": 3,
                     "traceCount": 0, "toolCalls": 1, "firstPrompt": "fix the bug",
                     "firstTimestamp": "2026-01-25T12:00:00.000Z", "durationMs": 6000}
    assert chat == {**chat, "kind": "llm", "source": "openai", "traceCount": 2, "errors": 1,
                    "costCents": 3, "inputTokens": 2000, "outputTokens": 1000,
                    "totalTokens": 3000, "firstPrompt": "first question",
                    "lastTimestamp": "2026-01-25T10:00:01.000Z"}


async def test_filters_and_paging(http, project, other_project):
    await _seed(http, project)
    get = lambda **p: http.get("/v1/sessions", params=p, headers=project.headers)  # noqa: E731
    assert [s["sessionId"] for s in (await get(kind="llm")).json()["sessions"]] == [
        "chat-1", "chat-2"]
    assert [s["sessionId"] for s in (await get(source="claude_code")).json()["sessions"]] == [
        "agent-1"]
    ranged = (await get(date_from="2026-01-25", date_to="2026-01-25")).json()
    assert ranged["total"] == 2
    page = (await get(limit=1, offset=1)).json()
    assert page["total"] == 3 and [s["sessionId"] for s in page["sessions"]] == ["chat-1"]
    assert (await get(kind="robot")).status_code == 400
    assert (await get(limit=0)).json()["error"] == "Invalid query parameters"
    assert (await get(date_from="nope")).json()["error"] == "Invalid date_from parameter"
    other = await http.get("/v1/sessions", headers=other_project.headers)
    assert other.json() == {"sessions": [], "total": 0, "limit": 50, "offset": 0}


async def test_single_session_routes_still_work(http, project):
    await _seed(http, project)
    r = await http.get("/v1/sessions/chat-1", headers=project.headers)
    assert r.status_code == 200 and len(r.json()["traces"]) == 2
