"""Sign-in, sessions and their abuse resistance (docs/api.md §Dashboard sessions, §Throttles; issue
6 acceptance 2)."""

from __future__ import annotations

import asyncio
import time

from pulse.storage import auth_sessions
from tests import accounts_fixtures as fx
from tests.accounts_fixtures import PASSWORD, client, fresh_email, fresh_ip, sign_in, sign_up

# fixtures, used by name
account = fx.account
member = fx.member

COOKIE = "better-auth.session_token"


async def test_sign_in_sets_the_session_cookie(server, account):
    async with client(server) as c:
        r = await c.post("/api/auth/sign-in/email",
                         json={"email": account.email.upper(), "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["user"]["email"] == account.email
    assert set(body) >= {"user", "token"}
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={body['token']};")
    parts = {p.strip().split("=")[0].lower() for p in cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= parts
    assert "samesite=lax" in cookie.lower()
    assert "max-age=604800" in cookie.lower()
    assert "secure" not in parts  # plain http on loopback


async def test_cookie_is_secure_behind_https_proxy(server, account):
    async with client(server) as c:
        r = await c.post("/api/auth/sign-in/email", headers={"X-Forwarded-Proto": "https"},
                         json={"email": account.email, "password": PASSWORD})
    assert r.status_code == 200
    assert "secure" in {p.strip().lower() for p in r.headers["set-cookie"].split(";")}
    assert r.headers["strict-transport-security"].startswith("max-age=")


async def test_wrong_password_and_unknown_email_look_the_same(server, account):
    async with client(server) as c:
        t0 = time.perf_counter()
        wrong = await c.post("/api/auth/sign-in/email",
                             json={"email": account.email, "password": "not it at all"})
        t1 = time.perf_counter()
        unknown = await c.post("/api/auth/sign-in/email",
                               json={"email": fresh_email(), "password": "not it at all"})
        t2 = time.perf_counter()
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"error": "Invalid email or password"}
    assert "set-cookie" not in wrong.headers and "set-cookie" not in unknown.headers
    # both paths pay one argon2 verification (tens of ms): neither is an order faster
    fast, slow = sorted((t1 - t0, t2 - t1))
    assert slow < 5 * fast + 0.05, (t1 - t0, t2 - t1)


async def test_get_session_with_cookie_bearer_and_without(server, account):
    r = await account.client.get("/api/auth/get-session")
    assert r.status_code == 200
    assert r.json()["user"]["email"] == account.email
    assert r.json()["session"]["expiresAt"].endswith("Z")
    async with client(server) as anon:
        r = await anon.get("/api/auth/get-session")
        assert (r.status_code, r.json()) == (200, None)
        r = await anon.get("/api/auth/get-session",
                           headers={"Authorization": f"Bearer {account.token}"})
        assert r.json()["user"]["email"] == account.email


async def test_sign_out_revokes_the_session_server_side(server):
    a = await sign_up(server)
    token = a.cookie
    assert (await a.client.get("/dashboard/api/projects")).status_code == 200
    r = await a.client.post("/api/auth/sign-out")
    assert (r.status_code, r.json()) == (200, {"success": True})
    assert COOKIE not in a.client.cookies  # cleared
    # replaying the old cookie (a stolen copy) no longer works
    async with client(server) as thief:
        thief.cookies.set(COOKIE, token)
        r = await thief.get("/dashboard/api/projects")
        assert (r.status_code, r.json()) == (401, {"error": "Unauthorized"})
        assert (await thief.get("/api/auth/get-session")).json() is None
    await a.client.aclose()


async def test_expired_session_is_refused(server, pool):
    a = await sign_up(server)
    assert (await a.client.get("/dashboard/api/projects")).status_code == 200
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE pulse.auth_sessions SET expires_at = now() - interval '1 second'"
            " WHERE token_hash = %s", (auth_sessions.hash_token(a.cookie),))
    r = await a.client.get("/dashboard/api/projects")
    assert (r.status_code, r.json()) == (401, {"error": "Unauthorized"})
    r = await a.client.get("/dashboard/api/traces", headers=a.scoped)
    assert r.status_code == 401
    await a.client.aclose()


async def test_forged_and_missing_cookies_are_refused(server, account):
    async with client(server) as c:
        assert (await c.get("/dashboard/api/projects")).status_code == 401
        c.cookies.set(COOKIE, account.cookie[:-2] + "xx")
        assert (await c.get("/dashboard/api/projects")).status_code == 401
        c.cookies.set(COOKIE, "x" * 5000)
        assert (await c.get("/dashboard/api/projects")).status_code in (401, 431)


async def test_brute_force_on_one_account_is_throttled(server, account):
    """Failures per account are limited whatever the source address (10 per 15 minutes)."""
    statuses = []
    for _ in range(12):
        async with client(server) as c:  # a new address every time
            r = await c.post("/api/auth/sign-in/email",
                             json={"email": account.email, "password": "guess"})
            statuses.append(r.status_code)
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    assert int(r.headers["retry-after"]) > 0
    assert r.json() == {"error": "Too many sign-in attempts, retry later"}
    # even the right password is refused while the account is throttled
    async with client(server) as c:
        r = await c.post("/api/auth/sign-in/email",
                         json={"email": account.email, "password": PASSWORD})
    assert r.status_code == 429


async def test_form_and_api_sign_in_share_the_account_throttle(server, account):
    """Alternating the dashboard's sign-in form and the API route must not double the attempts."""
    statuses = []
    for i in range(11):
        async with client(server) as c:  # a new address every time: only the account limit
            if i % 2:
                r = await c.post("/dashboard/sign-in", headers={"Origin": server},
                                 data={"email": account.email, "password": "guess"})
            else:
                r = await c.post("/api/auth/sign-in/email",
                                 json={"email": account.email, "password": "guess"})
            statuses.append(r.status_code)
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429


async def test_one_address_spraying_many_accounts_is_throttled(server):
    ip = fresh_ip()
    statuses = []
    async with client(server, ip) as c:
        for _ in range(22):
            r = await c.post("/api/auth/sign-in/email",
                             json={"email": fresh_email(), "password": "guess"})
            statuses.append(r.status_code)
    assert statuses[:20] == [401] * 20
    assert statuses[20:] == [429, 429]
    assert 0 < int(r.headers["retry-after"]) <= 61
    async with client(server) as other:  # another address is unaffected
        r = await other.post("/api/auth/sign-in/email",
                             json={"email": fresh_email(), "password": "guess"})
        assert r.status_code == 401


async def test_concurrent_sign_ins_all_succeed(server, account):
    results = await asyncio.gather(*(sign_in(server, account.email) for _ in range(4)))
    tokens = {a.token for a in results}
    assert len(tokens) == 4
    for a in results:
        await a.client.aclose()


async def test_sign_in_body_errors(server):
    async with client(server) as c:
        r = await c.post("/api/auth/sign-in/email", content=b"{nope",
                         headers={"Content-Type": "application/json"})
        assert (r.status_code, r.json()) == (400, {"error": "Invalid JSON body"})
        r = await c.post("/api/auth/sign-in/email", json={"email": "a@b.c"})
        assert r.status_code == 400
        assert r.json()["error"] == "Validation failed"
        assert r.json()["details"][0]["field"] == "password"
        r = await c.post("/api/auth/sign-in/email",
                         json={"email": "a@b.c", "password": "x" * 100_000})
        assert r.status_code == 413
        assert r.json()["error"].startswith("Request body exceeds")


async def test_one_address_guessing_cannot_lock_the_owner_out(server, account):
    """The guessing address is throttled harder (5 failures per account per 15 minutes) than
    the account (10 from all addresses): ten wrong passwords from one address leave the owner
    able to sign in from another one."""
    statuses = []
    async with client(server, fresh_ip()) as attacker:
        for _ in range(10):
            r = await attacker.post("/api/auth/sign-in/email",
                                    json={"email": account.email, "password": "guess"})
            statuses.append(r.status_code)
        assert statuses == [401] * 5 + [429] * 5
        assert int(r.headers["retry-after"]) > 0
        r = await attacker.post("/api/auth/sign-in/email",  # the right one, from that address
                                json={"email": account.email, "password": PASSWORD})
        assert r.status_code == 429
    async with client(server, fresh_ip()) as owner:
        r = await owner.post("/api/auth/sign-in/email",
                             json={"email": account.email, "password": PASSWORD})
        assert r.status_code == 200, r.text
