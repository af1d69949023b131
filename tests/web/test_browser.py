"""Issue 7 acceptance 1-2: a person's journey through the dashboard in real headless Chromium,
against the real server - sign in, switch project, filter traces, open a trace, open a session
timeline, see a new trace arrive live, create and revoke an API key, sign out - with a
screenshot of every page on seeded data."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from playwright.async_api import expect

from pulse.records import TraceRecord
from pulse.storage.writer import write_records
from tests.web.conftest import shot, sign_in
from tests.web.seed import AGENT_SESSION, SECRET


async def test_sign_in_overview_and_switch_project(page, world, backend):
    await page.goto("/dashboard/p/" + str(world.acme))
    assert "/dashboard/sign-in" in page.url  # signed out: redirected, nothing rendered
    await shot(page, "sign-in", backend.name)
    await page.get_by_label("Email").fill(world.email)
    await page.get_by_label("Password").fill("wrong password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Invalid email or password")
    await page.get_by_label("Password").fill("correct horse battery staple")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"**/dashboard/p/{world.acme}")  # back where they were going
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    assert int((await page.get_by_test_id("kpi-requests").inner_text()).replace(",", "")) > 50
    await expect(page.locator(".chart canvas").first).to_be_visible()
    await expect(page.get_by_role("cell", name="gpt-4o-mini")).to_be_visible()
    await shot(page, "overview", backend.name)

    await page.goto(f"/dashboard/p/{world.acme}/traces")
    await page.get_by_test_id("project-switcher").locator("summary").click()
    await page.get_by_role("link", name=re.compile("^Sandbox")).click()
    await page.wait_for_url(f"**/dashboard/p/{world.sandbox}/traces")  # same section
    await expect(page.locator("#trace-rows")).to_contain_text("mistral-large-latest")
    await expect(page.locator("#trace-rows")).not_to_contain_text("gpt-4o")
    assert SECRET not in await page.content()
    assert not page.js_errors, page.js_errors


async def test_filter_traces_and_open_one(page, world, backend):
    await sign_in(page, world.email)
    await page.goto(f"/dashboard/p/{world.acme}/traces")
    await expect(page.locator("#trace-rows tr")).to_have_count(50)  # first page
    await shot(page, "traces", backend.name)
    await page.keyboard.press("/")  # keyboard: focus the search field
    await page.keyboard.type("gpt-4o-mini")
    await page.get_by_label("Status").select_option("error")
    await page.get_by_role("button", name="Apply").click()
    await page.wait_for_url(re.compile(r"model=gpt-4o-mini.*status=error|status=error.*model="))
    rows = page.locator("#trace-rows tr[data-id]")
    for text in await rows.all_inner_texts():
        assert "gpt-4o-mini" in text and "error" in text
    await page.goto(f"/dashboard/p/{world.acme}/traces?status=error&range=all")
    await page.keyboard.press("j")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/traces/[0-9a-f-]{36}$"))
    await expect(page.get_by_role("heading", name="Error", exact=True)).to_be_visible()

    await page.goto(f"/dashboard/p/{world.acme}/traces/{world.tool_trace}")
    await expect(page.locator(".toolcall")).to_contain_text("lookup_order")
    await expect(page.get_by_test_id("otel-trace")).to_have_text(
        "4bf92f3577b34da6a3ce929d0e0e4736")
    await expect(page.locator(".facts").nth(1)).to_contain_text("512")  # cache read
    await expect(page.locator(".facts").nth(1)).to_contain_text("provider")  # cost source
    await page.get_by_text("Request body (JSON)").click()
    await expect(page.locator("details.json pre").first).to_be_visible()
    await shot(page, "trace-detail", backend.name)
    assert not page.js_errors, page.js_errors


async def test_session_timeline_and_live_traces(page, world, backend, pool):
    await sign_in(page, world.email)
    await page.goto(f"/dashboard/p/{world.acme}/sessions")
    await expect(page.get_by_role("link", name=AGENT_SESSION[:22] + "…").first).to_be_visible()
    await shot(page, "sessions", backend.name)
    await page.get_by_role("link", name=AGENT_SESSION[:22] + "…").first.click()
    await page.wait_for_url(f"**/sessions/{AGENT_SESSION}")
    steps = page.locator("#timeline li.step")
    await expect(page.locator("li.step.user_prompt")).to_contain_text("fails on empty input")
    await expect(page.locator("li.step.agent_run ol.nested li.step.tool")).to_have_count(2)
    await expect(page.locator("li.step.tool.err")).to_contain_text("pytest")
    assert await steps.count() >= 14
    assert SECRET not in await page.content()  # Eve's trace shares the session id
    await shot(page, "session-detail", backend.name)

    await page.goto(f"/dashboard/p/{world.acme}/traces?model=gpt-live-test&range=1h")
    await expect(page.locator("#trace-rows tr[data-id]")).to_have_count(0)
    await expect(page.get_by_test_id("trace-total")).to_have_text("0")
    live = TraceRecord(
        trace_id=uuid.uuid4(), timestamp=datetime.now(UTC), provider="openai",
        model_requested="gpt-live-test", request_body={"messages": []}, status="success",
        latency_ms=50.0, cost_cents=Decimal("0.01"), metadata={"cost_source": "client"})
    await write_records(pool, [(world.acme, live)])
    await expect(page.locator(f"#trace-rows tr[data-id='{live.trace_id}']")).to_be_visible(
        timeout=15_000)
    await expect(page.get_by_test_id("trace-total")).to_have_text("1")  # the count follows
    assert not page.js_errors, page.js_errors


async def test_analytics_page(page, world, backend):
    await sign_in(page, world.email)
    await page.goto(f"/dashboard/p/{world.acme}/analytics?range=7d&group_by=model")
    await expect(page.get_by_role("heading", name="By model")).to_be_visible()
    await expect(page.locator(".chart canvas")).to_have_count(3)
    await expect(page.get_by_role("cell", name="Bash")).to_be_visible()
    await shot(page, "analytics", backend.name)
    assert not page.js_errors, page.js_errors


async def test_keys_members_and_sign_out(page, world, backend):
    await sign_in(page, world.email)
    await page.goto(f"/dashboard/p/{world.acme}/keys")
    await page.locator("#key-name").fill("ci-runner")
    await page.get_by_role("button", name="Create key").click()
    key = await page.get_by_test_id("new-key").inner_text()
    assert key.startswith("pulse_sk_")
    await shot(page, "api-keys", backend.name)
    await page.goto(f"/dashboard/p/{world.acme}/keys")  # shown once: never again
    assert key not in await page.content()
    row = page.locator("tr[data-key='ci-runner']")
    page.once("dialog", lambda d: d.accept())
    await row.get_by_role("button", name="Revoke key ci-runner").click()
    await expect(page.locator("tr[data-key='ci-runner']")).to_contain_text("revoked")
    r = await page.request.get("/v1/traces", headers={"Authorization": f"Bearer {key}"})
    assert r.status == 401

    await page.goto(f"/dashboard/p/{world.acme}/members")
    await expect(page.get_by_role("cell", name=world.member_email, exact=True)).to_be_visible()
    await shot(page, "members", backend.name)
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/dashboard/sign-in")
    await page.goto(f"/dashboard/p/{world.acme}/traces")
    assert "/dashboard/sign-in" in page.url


async def test_narrow_layout_and_member_role(page, world, backend):
    await page.set_viewport_size({"width": 700, "height": 900})  # laptop split screen
    await sign_in(page, world.member_email)
    await page.goto(f"/dashboard/p/{world.acme}/sessions/{AGENT_SESSION}")
    await expect(page.locator("li.step.user_prompt")).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 700, f"horizontal scroll at 700 px: {width}"
    await shot(page, "session-detail-narrow", backend.name)
    await expect(page.get_by_role("link", name="API keys")).to_have_count(0)  # not an admin
    r = await page.goto(f"/dashboard/p/{world.acme}/keys")
    assert r.status == 403
