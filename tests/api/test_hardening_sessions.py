"""Session ids with any characters are reachable (issue 11, defect 7): ``/``, ``%``, spaces,
``?``, ``#`` and unicode, percent-encoded as one path segment, on ``/v1/sessions/{id}``,
``/v1/sessions/{id}/spans``, the dashboard API and the dashboard's session pages. An id that
ends in ``/spans`` (encoded) is still a session id, not the spans route."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests import accounts_fixtures as fx
from tests.accounts_fixtures import new_key
from tests.factories import span_item, trace_item

pytest_plugins: list[str] = []
account = fx.account

IDS = ["a/b", "a%2Fb", "100%", "with space", "ünï/cødé ✓", "x/spans", "q?x=1#frag", "/lead", "..",
       "a//b/"]


def seg(session_id: str) -> str:
    """One path segment, as the dashboard's links encode it (dot segments too: clients would
    resolve ``..`` away)."""
    text = quote(session_id, safe="")
    return text.replace(".", "%2E") if text.strip(".") == "" else text


async def store(http, headers, session_id: str) -> None:
    r = await http.post("/v1/traces/batch", json=[trace_item(session_id=session_id)],
                        headers=headers)
    assert r.status_code == 202, r.text
    r = await http.post("/v1/spans/batch", json=[span_item(session_id=session_id)],
                        headers=headers)
    assert r.status_code == 202, r.text


@pytest.mark.parametrize("session_id", IDS)
async def test_v1_session_routes_with_any_characters(http, project, session_id):
    await store(http, project.headers, session_id)
    for other in IDS:  # the neighbours exist too, so a wrong split would find the wrong one
        if other != session_id:
            await store(http, project.headers, other)
    r = await http.get(f"/v1/sessions/{seg(session_id)}", headers=project.headers)
    assert r.status_code == 200, (session_id, r.text)
    body = r.json()
    assert body["sessionId"] == session_id
    assert [t["sessionId"] for t in body["traces"]] == [session_id]
    r = await http.get(f"/v1/sessions/{seg(session_id)}/spans", headers=project.headers)
    assert r.status_code == 200, (session_id, r.text)
    assert r.json()["sessionId"] == session_id
    assert [s["sessionId"] for s in r.json()["spans"]] == [session_id]


async def test_unencoded_extra_segments_are_not_found(http, project):
    await store(http, project.headers, "a")
    for path in ["/v1/sessions/a/b", "/v1/sessions/a/spans/x", "/v1/sessions/a/traces"]:
        r = await http.get(path, headers=project.headers)
        assert r.status_code == 404, (path, r.text)
        assert r.json() == {"error": "Session not found"}


async def test_dashboard_session_routes_with_any_characters(http, server, account):
    key = await new_key(account)
    for session_id in IDS:
        await store(http, {"Authorization": f"Bearer {key}"}, session_id)
    for session_id in IDS:
        r = await account.client.get(f"/dashboard/api/sessions/{seg(session_id)}",
                                     headers=account.scoped)
        assert r.status_code == 200, (session_id, r.text)
        assert r.json()["sessionId"] == session_id
        r = await account.client.get(f"/dashboard/api/sessions/{seg(session_id)}/spans",
                                     headers=account.scoped)
        assert r.status_code == 200, (session_id, r.text)
        assert [s["sessionId"] for s in r.json()["spans"]] == [session_id]
        base = f"/dashboard/p/{account.project_id}/sessions/{seg(session_id)}"
        r = await account.client.get(base)
        assert r.status_code == 200, (session_id, r.status_code)
        r = await account.client.get(base + "/timeline")
        assert r.status_code == 200, (session_id, r.status_code)
    r = await account.client.get(f"/dashboard/p/{account.project_id}/sessions/a/b/c")
    assert r.status_code == 404
