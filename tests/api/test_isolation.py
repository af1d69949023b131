"""Project isolation (docs/api.md §API keys): a key sees and touches only its own project's rows."""

from __future__ import annotations

import asyncio

import pytest_asyncio

from tests.factories import span_item, trace_item


@pytest_asyncio.fixture(loop_scope="session")
async def a_data(http, project):
    trace = trace_item(session_id="shared-session", provider="anthropic",
                       model_requested="claude-sonnet-4-5", model_used=None)
    span = span_item(session_id="shared-session")
    r = await http.post("/v1/traces/batch", json=[trace], headers=project.headers)
    assert r.status_code == 202
    r = await http.post("/v1/spans/async", json=[span], headers=project.headers)
    assert r.status_code == 202
    # A can read its own data (so the 404s below are about isolation, not missing rows)
    assert (await http.get(f"/v1/traces/{trace['trace_id']}", headers=project.headers)
            ).status_code == 200
    for _ in range(60):  # /async: readable shortly after the 202
        r = await http.get(f"/v1/spans/{span['span_id']}", headers=project.headers)
        if r.status_code == 200:
            break
        await asyncio.sleep(0.05)
    assert r.status_code == 200
    assert (await http.get("/v1/sessions/shared-session", headers=project.headers)
            ).status_code == 200
    return trace, span


async def test_other_project_gets_404_for_ids_and_sessions(http, other_project, a_data):
    trace, span = a_data
    h = other_project.headers
    r = await http.get(f"/v1/traces/{trace['trace_id']}", headers=h)
    assert (r.status_code, r.json()) == (404, {"error": "Trace not found"})
    r = await http.get(f"/v1/spans/{span['span_id']}", headers=h)
    assert (r.status_code, r.json()) == (404, {"error": "Span not found"})
    for path in ("/v1/sessions/shared-session", "/v1/sessions/shared-session/spans"):
        r = await http.get(path, headers=h)
        assert (r.status_code, r.json()) == (404, {"error": "Session not found"})


async def test_other_project_lists_are_empty(http, project, other_project, a_data):
    h = other_project.headers
    for kind, params in [
        ("traces", {}), ("traces", {"session_id": "shared-session"}),
        ("traces", {"provider": "anthropic"}), ("traces", {"model": "claude-sonnet-4-5"}),
        ("traces", {"date_from": "2026-01-01", "date_to": "2026-12-31"}),
        ("spans", {}), ("spans", {"session_id": "shared-session"}),
        ("spans", {"source": "claude_code", "kind": "tool_use"}), ("spans", {"tool_name": "Bash"}),
    ]:
        r = await http.get(f"/v1/{kind}", params=params, headers=h)
        assert r.status_code == 200
        assert r.json() == {kind: [], "total": 0, "limit": 100, "offset": 0}, (kind, params)
        # ...while the same query with A's key finds the row
        r = await http.get(f"/v1/{kind}", params=params, headers=project.headers)
        assert r.json()["total"] == 1, (kind, params)


async def test_owner_lists_contain_the_rows(http, project, a_data):
    for kind in ("traces", "spans"):
        r = await http.get(f"/v1/{kind}", params={"session_id": "shared-session"},
                           headers=project.headers)
        assert r.json()["total"] == 1


async def test_same_trace_id_in_two_projects(http, project, other_project, a_data):
    trace, span = a_data
    b_trace = dict(trace, model_requested="gpt-4o", provider="openai", session_id="b-session",
                   timestamp="2026-03-01T00:00:00Z")
    r = await http.post("/v1/traces/batch", json=[b_trace], headers=other_project.headers)
    assert r.status_code == 202, r.text
    rows = r.json()["traces"]
    assert len(rows) == 1
    assert rows[0]["projectId"] == str(other_project.id)
    assert rows[0]["modelRequested"] == "gpt-4o"

    got_b = (await http.get(f"/v1/traces/{trace['trace_id']}",
                            headers=other_project.headers)).json()
    got_a = (await http.get(f"/v1/traces/{trace['trace_id']}", headers=project.headers)).json()
    assert got_b["projectId"] == str(other_project.id)
    assert got_b["sessionId"] == "b-session"
    assert got_a["projectId"] == str(project.id)
    assert got_a["modelRequested"] == "claude-sonnet-4-5"
    assert got_a["sessionId"] == "shared-session"
    assert got_a["timestamp"] == "2026-01-25T12:00:00.000Z"

    b_span = dict(span, session_id="b-session", tool_name="Edit")
    r = await http.post("/v1/spans/batch", json=[b_span], headers=other_project.headers)
    assert r.status_code == 202
    assert r.json()["spans"][0]["projectId"] == str(other_project.id)
    got_a = (await http.get(f"/v1/spans/{span['span_id']}", headers=project.headers)).json()
    assert got_a["toolName"] == "Bash"
    assert got_a["projectId"] == str(project.id)

    for headers, expected in ((project.headers, 1), (other_project.headers, 1)):
        for kind in ("traces", "spans"):
            r = await http.get(f"/v1/{kind}", headers=headers)
            assert r.json()["total"] == expected
    # A's session still holds only A's rows
    r = await http.get("/v1/sessions/shared-session", headers=project.headers)
    assert [t["projectId"] for t in r.json()["traces"]] == [str(project.id)]
    r = await http.get("/v1/sessions/b-session", headers=project.headers)
    assert r.status_code == 404


async def test_batch_answer_only_holds_own_rows(http, project, other_project, a_data):
    """B re-sending A's trace id gets B's row back, never A's row."""
    trace, _ = a_data
    r = await http.post("/v1/traces/batch", json=[dict(trace, output_text="from B")],
                        headers=other_project.headers)
    (row,) = r.json()["traces"]
    assert row["outputText"] == "from B"
    assert row["projectId"] == str(other_project.id)
