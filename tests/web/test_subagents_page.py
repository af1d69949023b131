"""Issue 15 acceptance 2 (sub-agents): a Claude Code hooks session with a sub-agent shows the
sub-agent as one run with its duration and the tools it ran nested under it (by
``metadata.agent_id``), and the Analytics page counts it once, as ``/v1/analytics/spans`` does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from playwright.async_api import expect

from pulse.storage import accounts
from tests.api.test_dashboard_subagents import hooks_session
from tests.factories import span_item
from tests.web.conftest import shot, sign_in


def _recent(items: list[dict]) -> list[dict]:
    """The fixture session moved to an hour ago (inside the pages' default ranges)."""
    base = datetime(2026, 1, 25, 12, tzinfo=UTC)
    shift = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1) - base
    for item in items:
        ts = datetime.fromisoformat(item["timestamp"].replace("Z", "+00:00")) + shift
        item["timestamp"] = ts.isoformat().replace("+00:00", "Z")
    return items


async def test_hooks_sub_agent_nested_and_counted_once(page, world, backend, pool, server):
    project = (await accounts.create_owned_project(
        pool, (await accounts.user_by_email(pool, world.email))["id"], "Hooks")).project_id
    key = (await accounts.create_key(pool, project, "hooks")).key
    auth = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=server, timeout=30) as c:
        r = await c.post("/v1/spans/batch", json=_recent(hooks_session("cc-hooks")),
                         headers=auth)
        assert r.is_success, r.text
        api = (await c.get("/v1/analytics/spans", headers=auth, params={
            "date_from": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            "date_to": datetime.now(UTC).isoformat()})).json()
    assert api["agentRuns"] == 2

    await sign_in(page, world.email)
    await page.goto(f"/dashboard/p/{project}/sessions/cc-hooks")
    runs = page.locator("li.step.agent_run")
    await expect(runs).to_have_count(2)  # the sub-agent once, the other run
    sub = runs.filter(has_text="Explore").first
    await expect(sub.locator("> details .dur")).to_have_text("3m 30s")
    nested = sub.locator("> ol.nested > li.step.tool")
    await expect(nested).to_have_count(2)
    await expect(nested.nth(0)).to_contain_text("Glob")
    await expect(nested.nth(1)).to_contain_text("Grep")
    top = page.locator("#timeline > ol.steps > li.step.tool")
    await expect(top).to_have_count(1)
    await expect(top).to_contain_text("Read")
    await shot(page, "session-subagent", backend.name)
    await page.goto(f"/dashboard/p/{project}/analytics?range=24h")
    runs_kpi = page.locator(".kpi").filter(has_text="Agent runs").locator(".value")
    await expect(runs_kpi).to_have_text(str(api["agentRuns"]))
    assert not page.js_errors, page.js_errors


async def test_readable_tool_output_and_fields(page, world, pool, server, backend):
    """Tool output as text with its line breaks, stdout and stderr apart; a notification as
    labelled fields without nulls; the raw JSON one click away."""
    project = (await accounts.create_owned_project(
        pool, (await accounts.user_by_email(pool, world.email))["id"], "Readable")).project_id
    key = (await accounts.create_key(pool, project, "hooks")).key
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    items = [
        span_item(session_id="readable", timestamp=now, tool_name="Bash", tool_use_id="b1",
                  tool_input={"command": "pytest -q"},
                  tool_response={"stdout": "line one\nline two", "stderr": "warning: slow",
                                 "interrupted": False}),
        span_item(session_id="readable", timestamp=now, kind="notification",
                  event_type="notification", tool_use_id=None, tool_name=None,
                  tool_input=None, duration_ms=None, cwd=None,
                  metadata={"message": "Claude needs your permission to use Bash"}),
    ]
    async with httpx.AsyncClient(base_url=server, timeout=30) as c:
        r = await c.post("/v1/spans/batch", json=items,
                         headers={"Authorization": f"Bearer {key}"})
        assert r.is_success, r.text
    await sign_in(page, world.email)
    await page.goto(f"/dashboard/p/{project}/sessions/readable")
    tool = page.locator("li.step.tool")
    await tool.locator("summary").first.click()
    stdout = tool.get_by_test_id("tool-stdout")
    assert await stdout.inner_text() == "line one\nline two"  # real line breaks, no "\\n"
    await expect(tool.get_by_test_id("tool-stderr")).to_have_text("warning: slow")
    note = page.locator("li.step.notification")
    await note.locator("summary").first.click()
    fields = note.get_by_test_id("step-fields")
    await expect(fields).to_contain_text("Claude needs your permission to use Bash")
    assert "null" not in await fields.inner_text()
    await note.get_by_text("Raw JSON").click()
    await expect(note.locator("details.json pre")).to_contain_text('"cwd": null')
    await shot(page, "session-readable", backend.name)
