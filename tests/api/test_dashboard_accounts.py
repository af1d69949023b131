"""Issue 15 acceptance 5 and member management: who may sign up follows ``PULSE_SIGNUP``
(``first_account``: the server's first account only, then closed; ``open``; ``closed``) on the
JSON route and the sign-up page alike, and admins change members' roles and remove them - never
the project's last admin."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid

import psycopg

from pulse.main import build_app
from pulse.storage.db import open_pool, with_database
from pulse.storage.migrate import migrate
from tests.accounts_fixtures import (
    PASSWORD,
    account,
    add_member,
    client,
    fresh_email,
    member,
    sign_up,
)
from tests.conftest import settings_for
from tests.support.otlp import serve

__all__ = ["account", "member"]  # fixtures


def _signup(email: str) -> dict:
    return {"name": "N", "email": email, "password": PASSWORD, "projectName": "P"}


@contextlib.asynccontextmanager
async def _fresh_server(backend, pipeline, signup: str):
    """A server over a new, empty database, configured with ``PULSE_SIGNUP=signup``."""
    name = f"pulse_signup_{uuid.uuid4().hex[:10]}"
    admin = with_database(backend.url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(backend.url, name)
    try:
        migrate(url, "auto")
        pool = open_pool(url, 2)
        await pool.open(wait=True)
        try:
            settings = dataclasses.replace(settings_for(backend), database_url=url, signup=signup)
            async with contextlib.asynccontextmanager(serve)(
                    build_app(settings, pool, pipeline)) as base:
                yield base
        finally:
            await pool.close()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_first_account_only_by_default(backend, pipeline):
    async with _fresh_server(backend, pipeline, "first_account") as base, client(base) as c:
        page = await c.get("/dashboard/sign-up")
        assert page.status_code == 200 and 'action="/dashboard/sign-up"' in page.text
        r = await c.post("/dashboard/api/signup", json=_signup(fresh_email("first")))
        assert (r.status_code, r.json()) == (201, {"success": True})
        r = await c.post("/dashboard/api/signup", json=_signup(fresh_email("second")))
        assert r.status_code == 403 and "PULSE_SIGNUP=open" in r.json()["error"]
        page = await c.get("/dashboard/sign-up")
        assert 'data-testid="signup-closed"' in page.text
        r = await c.post("/dashboard/sign-up", data=_signup(fresh_email("third")))
        assert r.status_code == 403 and 'data-testid="signup-closed"' in r.text
        assert "Create an account" not in (await c.get("/dashboard/sign-in")).text


async def test_sign_up_page_when_open_and_closed(backend, pipeline):
    async with _fresh_server(backend, pipeline, "open") as base, client(base) as c:
        for tag in ("one", "two"):  # open: more than the first account
            email = fresh_email(tag)
            r = await c.post("/dashboard/sign-up", data=_signup(email), follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith(
                "/dashboard/sign-in?created="), r.text
            r = await c.post("/api/auth/sign-in/email",
                             json={"email": email, "password": PASSWORD})
            assert r.status_code == 200
        bad = await c.post("/dashboard/sign-up", data={**_signup("not-an-email"),
                                                       "password": "short"})
        assert bad.status_code == 400 and "password" in bad.text
    async with _fresh_server(backend, pipeline, "closed") as base, client(base) as c:
        r = await c.post("/dashboard/api/signup", json=_signup(fresh_email("x")))
        assert r.status_code == 403
        r = await c.post("/dashboard/sign-up", data=_signup(fresh_email("y")))
        assert r.status_code == 403


async def test_admin_changes_roles_and_removes_members(server, account, member):
    api = "/dashboard/api/users"
    users = (await account.client.get(api, headers=account.scoped)).json()["users"]
    me = next(u for u in users if u["email"] == account.email)
    them = next(u for u in users if u["email"] == member.email)
    # the last admin can be neither demoted nor removed
    r = await account.client.patch(f"{api}/{me['id']}", headers=account.scoped,
                                   json={"role": "user"})
    assert r.status_code == 409 and "admin" in r.json()["error"]
    assert (await account.client.delete(f"{api}/{me['id']}",
                                        headers=account.scoped)).status_code == 409
    # a plain member may not manage members
    r = await member.client.delete(f"{api}/{me['id']}", headers=member.scoped)
    assert r.status_code == 403
    r = await account.client.patch(f"{api}/{them['id']}", headers=account.scoped,
                                   json={"role": "admin"})
    assert (r.status_code, r.json()["role"]) == (200, "admin")
    # now two admins: the first may step down
    r = await account.client.patch(f"{api}/{me['id']}", headers=account.scoped,
                                   json={"role": "user"})
    assert r.status_code == 200
    r = await member.client.delete(f"{api}/{me['id']}", headers=member.scoped)
    assert (r.status_code, r.json()) == (200, {"success": True})
    assert (await account.client.get("/dashboard/api/projects")).json()["projects"] == []
    r = await member.client.delete(f"{api}/{me['id']}", headers=member.scoped)
    assert r.status_code == 404
    r = await member.client.patch(f"{api}/{uuid.uuid4()}", headers=member.scoped,
                                  json={"role": "user"})
    assert r.status_code == 404
    r = await member.client.patch(f"{api}/not-a-uuid", headers=member.scoped,
                                  json={"role": "boss"})
    assert r.status_code in (400, 404) and "error" in r.json()


async def test_members_of_another_project_cannot_be_touched(server, account):
    other = await add_member(account, server, "user")  # in account's project
    stranger = await sign_up(server, project="S")
    try:
        users = (await account.client.get("/dashboard/api/users",
                                          headers=account.scoped)).json()["users"]
        target = next(u for u in users if u["email"] == other.email)
        r = await stranger.client.delete(f"/dashboard/api/users/{target['id']}",
                                         headers=stranger.scoped)
        assert r.status_code == 404  # not a member of the stranger's project
        r = await stranger.client.delete(f"/dashboard/api/users/{target['id']}",
                                         headers=account.scoped)
        assert r.status_code == 403  # not a member of that project
    finally:
        await stranger.client.aclose()
        await other.client.aclose()
