"""Dashboard account routes (docs/api.md §Dashboard API): sign-up, projects, API keys, users, roles,
headers."""

from __future__ import annotations

import uuid

from tests import accounts_fixtures as fx
from tests.accounts_fixtures import PASSWORD, client, fresh_email, sign_in, sign_up
from tests.factories import trace_item

# fixtures, used by name
account = fx.account
member = fx.member


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_signup_creates_project_membership_and_default_key(account):
    r = await account.client.get("/dashboard/api/api-keys", headers=account.scoped)
    assert r.status_code == 200
    (key,) = r.json()["apiKeys"]
    assert key["name"] == "Default Key"
    assert key["prefix"].startswith("pulse_sk_") and len(key["prefix"]) == 13
    assert key["isActive"] is True and key["lastUsedAt"] is None
    assert "apiKey" not in key and "key" not in key  # plaintext never listed


async def test_signup_with_a_taken_email_reveals_nothing_and_creates_nothing(server, account):
    async with client(server) as c:
        r = await c.post("/dashboard/api/signup", json={
            "name": "Mallory", "email": account.email.upper(), "password": "another password",
            "projectName": "Hijack"})
    assert (r.status_code, r.json()) == (201, {"success": True})
    projects = (await account.client.get("/dashboard/api/projects")).json()["projects"]
    assert [p["name"] for p in projects] == ["A"]
    async with client(server) as c:  # the owner's password is unchanged, Mallory's fails
        r = await c.post("/api/auth/sign-in/email",
                         json={"email": account.email, "password": "another password"})
        assert r.status_code == 401


async def test_signup_validation(server):
    async with client(server) as c:
        for body in ({"name": "x", "email": "no-at-sign", "password": PASSWORD,
                      "projectName": "p"},
                     {"name": "x", "email": fresh_email(), "password": "short",
                      "projectName": "p"},
                     {"name": "x\u0000", "email": fresh_email(), "password": PASSWORD,
                      "projectName": "p"},
                     {"name": "x", "email": fresh_email(), "password": PASSWORD}):
            r = await c.post("/dashboard/api/signup", json=body)
            assert r.status_code == 400, body
            assert r.json()["error"] == "Validation failed"


async def test_projects_list_and_create(server, account):
    r = await account.client.post("/dashboard/api/projects", json={"name": "Second"})
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"projectId", "apiKey", "name"} and body["name"] == "Second"
    assert body["apiKey"].startswith("pulse_sk_")
    r = await account.client.get("/dashboard/api/projects")
    projects = r.json()["projects"]
    assert [(p["name"], p["role"]) for p in projects] == [("A", "admin"), ("Second", "admin")]
    assert all(set(p) == {"id", "name", "createdAt", "role"} for p in projects)
    async with client(server) as c:  # the new key works for the new project
        r = await c.get("/v1/traces", headers=bearer(body["apiKey"]))
        assert r.status_code == 200


async def test_project_header_checks(account):
    c = account.client
    r = await c.get("/dashboard/api/api-keys")
    assert (r.status_code, r.json()) == (400, {"error": "Missing X-Project-Id header"})
    r = await c.get("/dashboard/api/traces", headers={"X-Project-Id": "not-a-uuid"})
    assert (r.status_code, r.json()) == (400, {"error": "Invalid X-Project-Id header"})
    r = await c.get("/dashboard/api/traces", headers={"X-Project-Id": str(uuid.uuid4())})
    assert (r.status_code, r.json()) == (403, {"error": "Forbidden: no access to this project"})


async def test_key_lifecycle_and_immediate_revocation(server, account):
    c, h = account.client, account.scoped
    r = await c.post("/dashboard/api/api-keys", headers=h)  # body is optional
    assert r.status_code == 201
    created = r.json()
    key, key_id = created["apiKey"], created["id"]
    assert created["name"] == "Default Key"
    async with client(server) as anon:
        assert (await anon.get("/v1/traces", headers=bearer(key))).status_code == 200
        r = await c.patch(f"/dashboard/api/api-keys/{key_id}", json={"name": "CI"}, headers=h)
        assert r.status_code == 200 and r.json()["apiKey"]["name"] == "CI"
        assert r.json()["apiKey"]["lastUsedAt"] is not None  # used once just above
        r = await c.delete(f"/dashboard/api/api-keys/{key_id}", headers=h)
        assert (r.status_code, r.json()) == (200, {"success": True})
        r = await anon.get("/v1/traces", headers=bearer(key))
        assert (r.status_code, r.json()) == (401, {"error": "Invalid API key"})
        r = await anon.post("/v1/traces/async", json=[trace_item()], headers=bearer(key))
        assert r.status_code == 401
    keys = (await c.get("/dashboard/api/api-keys", headers=h)).json()["apiKeys"]
    revoked = next(k for k in keys if k["id"] == key_id)
    assert revoked["isActive"] is False and revoked["revokedAt"].endswith("Z")
    r = await c.delete(f"/dashboard/api/api-keys/{uuid.uuid4()}", headers=h)
    assert r.status_code == 404
    r = await c.delete("/dashboard/api/api-keys/not-a-uuid", headers=h)
    assert r.status_code == 404


async def test_users_add_existing_and_new(server, account):
    """Adding by email answers the same whether or not the account exists (no enumeration):
    name and password are always required; an existing account keeps its own."""
    c, h = account.client, account.scoped
    other = await sign_up(server)
    new = fresh_email()
    answers = {}
    for email in (other.email, new):
        r = await c.post("/dashboard/api/users", headers=h, json={"email": email})
        assert (r.status_code, r.json()["error"]) == (400, "A user needs a name and a password")
        r = await c.post("/dashboard/api/users", headers=h, json={
            "email": email, "name": "Zed", "password": "overwrite attempt 1"})
        assert r.status_code == 201, r.text
        user = r.json()["user"]
        answers[email] = (sorted(r.json()), sorted(user), user["email"], user["name"],
                          user["role"])
    assert answers[other.email] == (["user"], ["createdAt", "email", "id", "name", "role"],
                                    other.email, "Zed", "user")
    assert answers[new][0:2] + answers[new][3:] == answers[other.email][0:2] + \
        answers[other.email][3:]
    await sign_in(server, other.email)  # password untouched by the admin's request
    r = await c.post("/dashboard/api/users", headers=h, json={
        "email": other.email, "name": "Zed", "password": "overwrite attempt 1"})
    assert (r.status_code, r.json()) == (409, {"error": "User is already a member of this project"})
    users = (await c.get("/dashboard/api/users", headers=h)).json()["users"]
    assert [(u["email"], u["role"]) for u in users] == [(account.email, "admin"),
                                                        (other.email, "user"), (new, "user")]
    await other.client.aclose()


async def test_non_admin_reads_but_cannot_manage(server, account, member):
    c, h = member.client, member.scoped
    assert (await c.get("/dashboard/api/traces", headers=h)).status_code == 200
    assert (await c.get("/dashboard/api/projects")).json()["projects"][0]["role"] == "user"
    keys = (await account.client.get("/dashboard/api/api-keys", headers=h)).json()["apiKeys"]
    key_id = keys[0]["id"]
    for method, path, body in [
        ("GET", "/dashboard/api/api-keys", None),
        ("POST", "/dashboard/api/api-keys", {"name": "mine"}),
        ("PATCH", f"/dashboard/api/api-keys/{key_id}", {"name": "x"}),
        ("DELETE", f"/dashboard/api/api-keys/{key_id}", None),
        ("GET", "/dashboard/api/users", None),
        ("POST", "/dashboard/api/users", {"email": member.email, "role": "admin"}),
    ]:
        r = await c.request(method, path, json=body, headers=h)
        assert (r.status_code, r.json()) == (403, {"error": "Forbidden: admin role required"}), (
            method, path)
    keys_after = (await account.client.get("/dashboard/api/api-keys", headers=h)).json()
    assert keys_after["apiKeys"] == keys


async def test_cross_origin_state_change_with_a_valid_cookie_is_refused(server, account):
    c, h = account.client, account.scoped
    for origin in ("https://evil.example", "null"):
        r = await c.post("/dashboard/api/api-keys", json={"name": "csrf"},
                         headers={**h, "Origin": origin})
        assert (r.status_code, r.json()) == (
            403, {"error": "Forbidden: cross-origin request refused"}), origin
    r = await c.post("/api/auth/sign-out", headers={"Referer": "https://evil.example/page"})
    assert r.status_code == 403
    assert (await c.get("/dashboard/api/projects")).status_code == 200  # not signed out
    keys = (await c.get("/dashboard/api/api-keys", headers=h)).json()["apiKeys"]
    assert "csrf" not in {k["name"] for k in keys}
    # the same request from the dashboard's own origin passes
    r = await c.post("/dashboard/api/api-keys", json={"name": "same-origin"},
                     headers={**h, "Origin": server})
    assert r.status_code == 201


async def test_security_headers(server, account):
    r = await account.client.get("/dashboard/api/projects")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-frame-options"] == "DENY"
    async with client(server) as c:
        r = await c.get("/docs")
        assert r.headers["content-type"].startswith("text/html")
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        r = await c.get("/health")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in r.headers


async def test_request_size_limit_on_dashboard_bodies(account):
    r = await account.client.post("/dashboard/api/projects",
                                  content=b'{"name": "' + b"x" * 70_000 + b'"}',
                                  headers={"Content-Type": "application/json"})
    assert r.status_code == 413
