"""Issue 15 acceptance 3: ``GET /v1/sessions`` lists each session id once, merging its LLM
traces and agent spans (kind ``both``), and the first prompt is read from every message format
the mapping stores - the OTel GenAI "parts" model included."""

from __future__ import annotations

from pathlib import Path

import pulse.storage
from tests.factories import span_item, trace_item

MIGRATIONS = Path(pulse.storage.__file__).parent / "migrations"

PARTS = {"messages": [
    {"role": "system", "parts": [{"type": "text", "content": "be brief"}]},
    {"role": "user", "parts": [{"type": "text", "content": "What is "},
                               {"type": "text", "content": "OTLP?"}]}]}


async def _seed(http, project) -> None:
    traces = [
        trace_item(session_id="mixed", timestamp="2026-01-25T10:00:00Z", cost_cents=2,
                   request_body={"messages": [{"role": "user", "content": "plan the fix"}]}),
        trace_item(session_id="mixed", timestamp="2026-01-25T10:05:00Z", cost_cents=3,
                   status="error"),
        trace_item(session_id="otel-chat", timestamp="2026-01-24T09:00:00Z",
                   request_body=PARTS),
    ]
    spans = [
        span_item(session_id="mixed", timestamp="2026-01-25T09:59:00Z", kind="user_prompt",
                  event_type="user_prompt", tool_use_id=None, tool_name=None,
                  metadata={"prompt": "the parser fails"}),
        span_item(session_id="mixed", timestamp="2026-01-25T10:01:00Z", tool_use_id="t1"),
        span_item(session_id="agent-only", timestamp="2026-01-23T09:00:00Z", tool_use_id="t2"),
    ]
    assert (await http.post("/v1/traces/batch", json=traces, headers=project.headers)).is_success
    assert (await http.post("/v1/spans/batch", json=spans, headers=project.headers)).is_success


async def test_one_row_per_session_id(http, project, other_project):
    await _seed(http, project)
    r = await http.get("/v1/sessions", headers=project.headers)
    body = r.json()
    assert [s["sessionId"] for s in body["sessions"]] == ["mixed", "otel-chat", "agent-only"]
    assert body["total"] == 3
    mixed = body["sessions"][0]
    assert mixed == {**mixed, "kind": "both", "traceCount": 2, "spanCount": 2, "toolCalls": 1,
                     "costCents": 5, "errors": 1, "source": "claude_code",
                     "firstTimestamp": "2026-01-25T09:59:00.000Z",
                     "lastTimestamp": "2026-01-25T10:05:00.000Z", "durationMs": 360000,
                     "firstPrompt": "the parser fails"}  # the earliest prompt of either part
    kinds = {s["sessionId"]: s["kind"] for s in body["sessions"]}
    assert kinds == {"mixed": "both", "otel-chat": "llm", "agent-only": "agent"}
    get = lambda **p: http.get("/v1/sessions", params=p, headers=project.headers)  # noqa: E731
    ids = lambda r: [s["sessionId"] for s in r.json()["sessions"]]  # noqa: E731
    assert ids(await get(kind="llm")) == ["mixed", "otel-chat"]
    assert ids(await get(kind="agent")) == ["mixed", "agent-only"]
    assert ids(await get(kind="both")) == ["mixed"]
    assert ids(await get(source="openai")) == ["mixed", "otel-chat"]
    page = (await get(limit=1, offset=1)).json()
    assert (page["total"], ids(await get(limit=1, offset=1))) == (3, ["otel-chat"])
    assert ids(await get(date_from="2026-01-25", date_to="2026-01-25")) == ["mixed"]
    assert (await http.get("/v1/sessions", headers=other_project.headers)).json()["total"] == 0


async def test_first_prompt_from_genai_parts(http, project):
    await _seed(http, project)
    rows = (await http.get("/v1/sessions", params={"kind": "llm"},
                           headers=project.headers)).json()["sessions"]
    otel = next(s for s in rows if s["sessionId"] == "otel-chat")
    assert otel["firstPrompt"] == "What is OTLP?"


async def test_migration_020_backfills_first_prompts(http, project, pool):
    """Sessions stored before migration 020 had no first prompt for the parts format: the
    migration's backfill fills exactly those (re-run here: it is idempotent)."""
    await _seed(http, project)
    async with pool.connection() as conn:
        await conn.execute("UPDATE pulse.session_summaries SET first_prompt = NULL,"
                           " first_prompt_ts = NULL WHERE project_id = %s AND kind = 'llm'"
                           " AND session_id = 'otel-chat'", (project.id,))
        await conn.execute((MIGRATIONS / "020_first_prompt_parts.sql").read_text())
    rows = (await http.get("/v1/sessions", headers=project.headers)).json()["sessions"]
    prompts = {s["sessionId"]: s["firstPrompt"] for s in rows}
    assert prompts["otel-chat"] == "What is OTLP?"
    assert prompts["mixed"] == "the parser fails"  # untouched
