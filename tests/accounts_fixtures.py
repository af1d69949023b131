"""Accounts test fixtures: people who signed up through the real routes, each with their own
cookie-carrying client.

Every client claims its own client address through ``X-Forwarded-For`` (uvicorn trusts it from
loopback, like from any trusted proxy), so the per-IP sign-in throttle of one test never blocks
another test; the throttle tests pick their own addresses on purpose.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

import httpx
import pytest_asyncio

PASSWORD = "correct horse battery staple"
_ips = itertools.count(1)


def fresh_ip() -> str:
    n = next(_ips)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def fresh_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


def client(server: str, ip: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server, timeout=30, headers={"X-Forwarded-For": ip or fresh_ip()}
    )


@dataclass
class Account:
    email: str
    password: str
    client: httpx.AsyncClient  # holds the session cookie
    token: str
    project_id: str | None = None

    @property
    def scoped(self) -> dict[str, str]:
        return {"X-Project-Id": self.project_id}

    @property
    def cookie(self) -> str:
        return self.client.cookies["better-auth.session_token"]


async def sign_in(server: str, email: str, password: str = PASSWORD) -> Account:
    c = client(server)
    r = await c.post("/api/auth/sign-in/email", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    assert c.cookies.get("better-auth.session_token"), r.headers
    return Account(email, password, c, r.json()["token"])


async def sign_up(server: str, name: str = "Ann", project: str = "Proj") -> Account:
    """Sign up (user + project + admin membership + Default Key), then sign in."""
    email = fresh_email()
    async with client(server) as c:
        r = await c.post("/dashboard/api/signup", json={
            "name": name, "email": email, "password": PASSWORD, "projectName": project,
        })
        assert (r.status_code, r.json()) == (201, {"success": True}), r.text
    account = await sign_in(server, email)
    r = await account.client.get("/dashboard/api/projects")
    assert r.status_code == 200, r.text
    (only,) = r.json()["projects"]
    assert (only["name"], only["role"]) == (project, "admin")
    account.project_id = only["id"]
    return account


async def new_key(account: Account) -> str:
    r = await account.client.post("/dashboard/api/api-keys", headers=account.scoped,
                                  json={"name": "test"})
    assert r.status_code == 201, r.text
    return r.json()["apiKey"]


async def add_member(admin: Account, server: str, role: str = "user") -> Account:
    """A new user added to ``admin``'s project with ``role``, signed in."""
    email = fresh_email(role)
    r = await admin.client.post("/dashboard/api/users", headers=admin.scoped, json={
        "email": email, "name": "Member", "password": PASSWORD, "role": role,
    })
    assert r.status_code == 201, r.text
    member = await sign_in(server, email)
    member.project_id = admin.project_id
    return member


@pytest_asyncio.fixture(loop_scope="session")
async def account(server):
    a = await sign_up(server, project="A")
    yield a
    await a.client.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def other_account(server):
    b = await sign_up(server, name="Bob", project="B")
    yield b
    await b.client.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def member(server, account):
    m = await add_member(account, server, "user")
    yield m
    await m.client.aclose()
