"""Issue 7 acceptance 4: no dashboard page or fragment shows another project's data.

Eve (a member of her own project only) asks for every page and fragment of Ada's project by its
URL, and posts to its forms: each answers 404 and holds none of Ada's data. Each refusal is
paired with Ada's own request succeeding, so a 404 means isolation, not a missing page.
Signed-out requests are redirected (pages) or get 401 (fragments); forms without the session's
CSRF token or from another origin are refused.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import httpx
import pytest_asyncio

from pulse.records import TraceRecord
from pulse.storage.writer import write_records
from tests.web.seed import AGENT_SESSION, PASSWORD, SECRET


async def _client(server: str, email: str | None, n: int) -> httpx.AsyncClient:
    c = httpx.AsyncClient(base_url=server, timeout=30, headers={"X-Forwarded-For": f"10.88.0.{n}"})
    if email:
        r = await c.post("/api/auth/sign-in/email", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
    return c


@pytest_asyncio.fixture(loop_scope="session")
async def clients(server, world):
    ada, eve = await _client(server, world.email, 1), await _client(server, world.eve_email, 2)
    anon = await _client(server, None, 3)
    yield ada, eve, anon
    for c in (ada, eve, anon):
        await c.aclose()


def pages(world, project) -> list[str]:
    b = f"/dashboard/p/{project}"
    trace = world.tool_trace if project == world.acme else world.eve_trace
    return [b, f"{b}/traces", f"{b}/traces?session={AGENT_SESSION}&range=all",
            f"{b}/traces/{trace}", f"{b}/sessions", f"{b}/sessions/{AGENT_SESSION}",
            f"{b}/analytics?group_by=model", f"{b}/keys", f"{b}/members",
            f"{b}/otel/4bf92f3577b34da6a3ce929d0e0e4736", f"{b}/sessions?kind=both"]


def fragments(project) -> list[str]:
    b = f"/dashboard/p/{project}"
    return [f"{b}/traces/live?after=2000-01-01T00:00:00Z",
            f"{b}/sessions/{AGENT_SESSION}/timeline"]


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


async def test_foreign_pages_and_fragments_are_404_without_data(clients, world):
    ada, eve, _ = clients
    for path in pages(world, world.acme) + fragments(world.acme):
        mine = await ada.get(path)
        assert mine.status_code == 200, (path, mine.status_code)
        theirs = await eve.get(path)
        assert theirs.status_code == 404, (path, theirs.status_code)
        for leak in ("Acme Support Bot", "gpt-4o", "claude-sonnet", str(world.tool_trace)):
            assert leak not in theirs.text, (path, leak)
    # the other direction: Eve's own pages work, and Ada's never show Eve's secret
    for path in pages(world, world.eve_project)[:7]:
        assert (await eve.get(path)).status_code == 200, path
        assert (await ada.get(path)).status_code == 404, path
    for path in pages(world, world.acme) + fragments(world.acme):
        assert SECRET not in (await ada.get(path)).text, path
    # a foreign trace id inside one's own project is "not found", not shown
    r = await ada.get(f"/dashboard/p/{world.acme}/traces/{world.eve_trace}")
    assert r.status_code == 404 and SECRET not in r.text


async def test_foreign_forms_change_nothing(clients, world):
    ada, eve, _ = clients
    token = csrf((await eve.get(f"/dashboard/p/{world.eve_project}/keys")).text)
    b = f"/dashboard/p/{world.acme}"
    before = (await ada.get(f"{b}/keys")).text.count("<tr data-key")
    r = await eve.post(f"{b}/keys", data={"csrf": token, "name": "stolen"})
    assert r.status_code == 404 and "pulse_sk_" not in r.text
    r = await eve.post(f"{b}/members", data={"csrf": token, "email": "x@example.com",
                                             "name": "X", "password": "longpassword1"})
    assert r.status_code == 404
    members = (await ada.get(f"{b}/members")).text
    for uid in set(re.findall(r"/members/([0-9a-f-]{36})/remove", members)):
        for action, data in (("remove", {}), ("role", {"role": "user"})):
            r = await eve.post(f"{b}/members/{uid}/{action}", data={"csrf": token, **data})
            assert r.status_code == 404, action
    assert (await ada.get(f"{b}/members")).text.count("data-member=") == members.count(
        "data-member=")
    assert (await ada.get(f"{b}/keys")).text.count("<tr data-key") == before


async def test_signed_out_and_forged_requests(clients, world):
    ada, _, anon = clients
    b = f"/dashboard/p/{world.acme}"
    for path in pages(world, world.acme):
        r = await anon.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/dashboard/sign-in")
    for path in fragments(world.acme):
        assert (await anon.get(path)).status_code == 401
    r = await ada.post(f"{b}/keys", data={"name": "no-token"})
    assert r.status_code == 403 and "pulse_sk_" not in r.text
    token = csrf((await ada.get(f"{b}/keys")).text)
    r = await ada.post(f"{b}/keys", data={"csrf": token, "name": "evil"},
                       headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    r = await ada.post(f"{b}/keys", data={"csrf": token, "name": "ok"},
                       headers={"Origin": str(ada.base_url).rstrip("/")})
    assert r.status_code == 201 and "pulse_sk_" in r.text


async def test_html_security_headers_and_escaping(clients, world, pool):
    ada, _, _ = clients
    xss = "<script>alert(1)</script>"
    bad = TraceRecord(
        trace_id=uuid.uuid4(), timestamp=datetime.now(UTC), provider="openai",
        model_requested=xss, request_body={"messages": [{"role": "user", "content": xss}]},
        status="success", latency_ms=1.0, session_id=xss, metadata={"k": xss})
    await write_records(pool, [(world.acme, bad)])
    for path in (f"/traces/{bad.trace_id}", "/traces", "/sessions"):
        r = await ada.get(f"/dashboard/p/{world.acme}{path}")
        assert r.status_code == 200 and xss not in r.text and "&lt;script&gt;" in r.text, path
    r = await ada.get(f"/dashboard/p/{world.acme}/traces/{world.tool_trace}")
    assert "script-src" not in r.headers["content-security-policy"]  # default-src 'self' only
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "<script>alert" not in r.text
    r = await ada.get("/dashboard/sign-in?next=https://evil.example/")
    assert 'value="/dashboard"' in r.text  # open redirect refused
