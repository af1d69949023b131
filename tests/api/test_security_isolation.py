"""The isolation matrix (issue 6 acceptance 1): for every data route under ``/v1`` and
``/dashboard/api``, project B's key or B's member's cookie can neither read nor change project
A's traces, spans, sessions, analytics, keys or users: 404 or 403, never data.

Each refusal is paired with the owner's request for the same thing succeeding, so a 404 means
isolation, not a missing row.
"""

from __future__ import annotations

import pytest_asyncio

from tests import accounts_fixtures as fx
from tests.accounts_fixtures import client, new_key
from tests.factories import span_item, trace_item
from tests.helpers import get_when

# fixtures, used by name
account = fx.account
other_account = fx.other_account

SID = "iso-session"
RANGE = {"date_from": "2026-01-01T00:00:00Z", "date_to": "2026-12-31T23:59:59Z"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest_asyncio.fixture(loop_scope="session")
async def world(server, account, other_account):
    """A holds a trace, a span, a session and a second key; B has its own key."""
    a_key, b_key = await new_key(account), await new_key(other_account)
    trace = trace_item(session_id=SID)
    span = span_item(session_id=SID)
    async with client(server) as c:
        assert (await c.post("/v1/traces/batch", json=[trace], headers=bearer(a_key))
                ).status_code == 202
        assert (await c.post("/v1/spans/async", json=[span], headers=bearer(a_key))
                ).status_code == 202
        r = await get_when(c, f"/v1/spans/{span['span_id']}", bearer(a_key))
        assert r.status_code == 200
    keys = (await account.client.get("/dashboard/api/api-keys", headers=account.scoped)).json()
    a_key_id = keys["apiKeys"][0]["id"]
    return {"a_key": a_key, "b_key": b_key, "trace": trace["trace_id"],
            "span": span["span_id"], "a_key_id": a_key_id}


def read_paths(w) -> list[tuple[str, dict]]:
    return [
        (f"/traces/{w['trace']}", {}), (f"/spans/{w['span']}", {}),
        (f"/sessions/{SID}", {}), (f"/sessions/{SID}/spans", {}),
        ("/traces", {"session_id": SID}), ("/spans", {"session_id": SID}), ("/sessions", {}),
        ("/analytics", RANGE), ("/analytics/spans", RANGE),
    ]


def holds_a_data(path: str, body) -> bool:
    """Whether an answer reveals any of A's rows (or non-zero counts of them)."""
    text = str(body)
    if SID in text and "/sessions/" not in path:
        return True
    if path.startswith("/analytics"):
        return any(body.get(k) for k in ("totalRequests", "totalSpans"))
    for k in ("traces", "spans", "sessions"):
        if isinstance(body.get(k), list) and body[k]:
            return True
    return "traceId" in body or "spanId" in body


async def test_owner_sees_everything(server, account, world):
    """Control: with A's key and A's cookie every read route returns A's data."""
    async with client(server) as c:
        for path, params in read_paths(world):
            r = await c.get(f"/v1{path}", params=params, headers=bearer(world["a_key"]))
            assert r.status_code == 200, (path, r.text)
            assert holds_a_data(path, r.json()), (path, r.json())
    for path, params in read_paths(world):
        r = await account.client.get(f"/dashboard/api{path}", params=params,
                                     headers=account.scoped)
        assert r.status_code == 200, (path, r.text)
        assert holds_a_data(path, r.json()), (path, r.json())


async def test_b_key_reads_nothing_of_a(server, world):
    async with client(server) as c:
        for path, params in read_paths(world):
            r = await c.get(f"/v1{path}", params=params, headers=bearer(world["b_key"]))
            assert r.status_code in (200, 404), (path, r.status_code)
            assert not holds_a_data(path, r.json()), (path, r.json())
            if path.count("/") >= 2 and not path.startswith("/analytics"):
                assert r.status_code == 404, path  # by id: not found


async def test_b_cookie_with_a_project_header_is_forbidden_everywhere(other_account, account,
                                                                       world):
    h = {"X-Project-Id": account.project_id}
    c = other_account.client
    calls = [("GET", f"/dashboard/api{p}", q, None) for p, q in read_paths(world)] + [
        ("GET", "/dashboard/api/api-keys", {}, None),
        ("POST", "/dashboard/api/api-keys", {}, {"name": "evil"}),
        ("PATCH", f"/dashboard/api/api-keys/{world['a_key_id']}", {}, {"name": "evil"}),
        ("DELETE", f"/dashboard/api/api-keys/{world['a_key_id']}", {}, None),
        ("GET", "/dashboard/api/users", {}, None),
        ("POST", "/dashboard/api/users", {}, {"email": other_account.email, "role": "admin"}),
    ]
    for method, path, params, body in calls:
        r = await c.request(method, path, params=params, json=body, headers=h)
        assert (r.status_code, r.json()) == (
            403, {"error": "Forbidden: no access to this project"}), (method, path)
    # nothing changed in A: its key still works, B did not become a member
    r = await account.client.get("/dashboard/api/users", headers=account.scoped)
    assert [u["email"] for u in r.json()["users"]] == [account.email]
    keys = (await account.client.get("/dashboard/api/api-keys", headers=account.scoped)).json()
    assert all(k["isActive"] and k["name"] != "evil" for k in keys["apiKeys"])
    assert len(keys["apiKeys"]) == 2


async def test_b_cookie_in_own_project_cannot_reach_a_ids(other_account, account, world):
    c, h = other_account.client, other_account.scoped
    for path, params in read_paths(world):
        r = await c.get(f"/dashboard/api{path}", params=params, headers=h)
        assert r.status_code in (200, 404), (path, r.status_code)
        assert not holds_a_data(path, r.json()), (path, r.json())
    key_id = world["a_key_id"]
    r = await c.patch(f"/dashboard/api/api-keys/{key_id}", json={"name": "evil"}, headers=h)
    assert (r.status_code, r.json()) == (404, {"error": "API key not found"})
    r = await c.delete(f"/dashboard/api/api-keys/{key_id}", headers=h)
    assert (r.status_code, r.json()) == (404, {"error": "API key not found"})
    keys = (await c.get("/dashboard/api/api-keys", headers=h)).json()["apiKeys"]
    assert key_id not in {k["id"] for k in keys}
    users = (await c.get("/dashboard/api/users", headers=h)).json()["users"]
    assert account.email not in {u["email"] for u in users}
    async with client(str(c.base_url)) as anon:
        r = await anon.get("/v1/traces", headers=bearer(world["a_key"]))
        assert r.json()["total"] == 1  # A's key still alive


async def test_credentials_do_not_cross_planes(server, other_account, world):
    """An API key is not a dashboard session, and a session token is not an API key."""
    async with client(server) as c:
        r = await c.get("/dashboard/api/traces", headers={
            **bearer(world["b_key"]), "X-Project-Id": other_account.project_id})
        assert r.status_code == 401
        r = await c.get("/v1/traces", headers=bearer(other_account.token))
        assert (r.status_code, r.json()) == (401, {"error": "Invalid API key"})
        c.cookies.set("better-auth.session_token", other_account.token)
        r = await c.get("/v1/traces")
        assert r.status_code == 401


async def test_b_key_cannot_write_into_a(server, account, world):
    """Ingest with B's key lands in B, whatever project id the body claims."""
    item = trace_item(session_id="b-write", metadata={"project_id": account.project_id})
    async with client(server) as c:
        r = await c.post("/v1/traces/batch", json=[dict(item, project_id=account.project_id)],
                         headers={**bearer(world["b_key"]), "X-Project-Id": account.project_id})
        assert r.status_code == 202
        assert r.json()["traces"][0]["projectId"] != account.project_id
    r = await account.client.get("/dashboard/api/traces", params={"session_id": "b-write"},
                                 headers=account.scoped)
    assert r.json()["total"] == 0
