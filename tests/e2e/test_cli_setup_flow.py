"""What the Pulse CLI's ``setup`` does, against the real server (issue 6 acceptance 4): sign up,
sign in (reading the ``better-auth.session_token`` cookie from Set-Cookie, as the CLI does), list
or create a project, create an API key, send spans to ``/v1/spans/async`` with it and read them
back. Plus the operator's path: ``pulse-bridge users create`` and ``dashboard-login``."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import uuid
from pathlib import Path

import httpx

from tests.accounts_fixtures import client, fresh_email
from tests.factories import span_item
from tests.helpers import get_when

CLI = str(Path(sys.executable).with_name("pulse-bridge"))
PASSWORD = "setup flow password"


async def test_pulse_cli_setup_flow(server):
    email = fresh_email("setup")
    async with client(server) as c:
        r = await c.post("/dashboard/api/signup", json={
            "name": "Dev", "email": email, "password": PASSWORD, "projectName": "My App"})
        assert (r.status_code, r.json()) == (201, {"success": True})
        r = await c.post("/api/auth/sign-in/email", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200
        m = re.search(r"better-auth\.session_token=([^;]+)", r.headers["set-cookie"])
        assert m, r.headers["set-cookie"]
    cookie = {"Cookie": f"better-auth.session_token={m.group(1)}"}
    async with httpx.AsyncClient(base_url=server, timeout=30) as cli:  # no cookie jar use
        r = await cli.get("/dashboard/api/projects", headers=cookie)
        (project,) = r.json()["projects"]
        assert project["name"] == "My App"
        scoped = {**cookie, "X-Project-Id": project["id"]}
        r = await cli.get("/dashboard/api/api-keys", headers=scoped)
        assert [k["name"] for k in r.json()["apiKeys"]] == ["Default Key"]
        r = await cli.post("/dashboard/api/api-keys", headers=scoped, json={"name": "Pulse CLI"})
        assert r.status_code == 201
        key = r.json()["apiKey"]
        spans = [span_item(session_id="setup-session"), span_item(session_id="setup-session",
                                                                   kind="agent_run")]
        auth = {"Authorization": f"Bearer {key}"}
        r = await cli.post("/v1/spans/async", json=spans, headers=auth)
        assert (r.status_code, r.json()) == (202, {"status": "queued", "count": 2})
        r = await get_when(cli, f"/v1/spans/{spans[1]['span_id']}", auth)
        assert r.status_code == 200
        assert (r.json()["projectId"], r.json()["kind"]) == (project["id"], "agent_run")
        r = await cli.get("/v1/sessions/setup-session/spans", headers=auth)
        assert {s["spanId"] for s in r.json()["spans"]} == {s["span_id"] for s in spans}
        r = await cli.get("/dashboard/api/spans", params={"session_id": "setup-session"},
                          headers=scoped)
        assert r.json()["total"] == 2


async def run_cli(backend, *args: str, stdin: str = "") -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env.update(DATABASE_URL=backend.url, PULSE_HTTP_ENDPOINT="127.0.0.1:4318")
    proc = await asyncio.create_subprocess_exec(
        CLI, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env=env,
    )
    out, _ = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout=120)
    return proc.returncode, out.decode()


async def test_users_create_and_one_time_dashboard_login(server, backend, project):
    email = fresh_email("admin")
    code, out = await run_cli(backend, "users", "create", "--email", email, "--name", "Ops",
                              "--password-stdin", "--project", str(project.id), "--role",
                              "admin", stdin=PASSWORD + "\n")
    assert code == 0, out
    assert f"added to project {project.id} as admin" in out
    code, out = await run_cli(backend, "users", "create", "--email", email, "--name", "Ops",
                              "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 1 and "exists" in out

    code, out = await run_cli(backend, "dashboard-login", "--email", email)
    assert code == 0, out
    link = re.search(r"http://127\.0\.0\.1:4318(/dashboard/login\?token=\S+)", out)
    assert link, out
    path = link.group(1)
    async with httpx.AsyncClient(base_url=server, timeout=30) as remote:
        r = await remote.get(path, headers={"X-Forwarded-For": "203.0.113.9"})
        assert r.status_code == 403  # not from this machine: refused, link not consumed
    async with httpx.AsyncClient(base_url=server, timeout=30) as local:
        r = await local.get(path)
        assert (r.status_code, r.headers["location"]) == (303, "/dashboard")
        assert "httponly" in r.headers["set-cookie"].lower()
        r = await local.get("/dashboard/api/projects")
        assert [p["id"] for p in r.json()["projects"]] == [str(project.id)]
        r = await local.get("/dashboard/api/users", headers={"X-Project-Id": str(project.id)})
        assert r.status_code == 200  # admin
    async with httpx.AsyncClient(base_url=server, timeout=30) as again:
        r = await again.get(path)  # single use
        assert (r.status_code, r.json()) == (401, {"error": "Invalid or expired login link"})
        r = await again.get(f"/dashboard/login?token={uuid.uuid4().hex}")
        assert r.status_code == 401
    # the password set through stdin signs in
    async with client(server) as c:
        r = await c.post("/api/auth/sign-in/email", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200
