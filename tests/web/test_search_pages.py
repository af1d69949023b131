"""Issue 15 acceptance 4 (search) in the dashboard: the Traces page finds a trace by a word of
its output, the Sessions page finds the agent session by a word of a tool input, and neither
ever shows another project's matches (Eve's secret is in her project only)."""

from __future__ import annotations

from playwright.async_api import expect

from tests.web.conftest import shot, sign_in
from tests.web.seed import AGENT_SESSION, SECRET


async def test_search_traces_and_sessions(page, world, backend):
    await sign_in(page, world.email)
    await page.goto(f"/dashboard/p/{world.acme}/traces?range=all")
    await page.get_by_role("searchbox", name="Search").fill("still")
    await page.get_by_role("button", name="Apply").click()
    await page.wait_for_url("**q=still**")
    rows = page.locator("#trace-rows tr[data-id]")
    await expect(rows).to_have_count(1)  # "One case still fails: whitespace-only input."
    await expect(page.get_by_test_id("trace-total")).to_have_text("1")
    await shot(page, "traces-search", backend.name)

    await page.goto(f"/dashboard/p/{world.acme}/sessions")
    await page.get_by_role("searchbox", name="Search").fill("test_parser")  # in a tool input
    await page.get_by_role("button", name="Search").click()
    found = page.locator("table.sessions tbody tr[data-href]")
    await expect(found).to_have_count(1)
    await expect(found).to_contain_text(AGENT_SESSION[:20])
    await shot(page, "sessions-search", backend.name)

    # Eve's trace holds SECRET and shares the agent session id: never found from Acme
    await page.goto(f"/dashboard/p/{world.acme}/traces?range=all&q={SECRET}")
    await expect(rows).to_have_count(0)
    await page.goto(f"/dashboard/p/{world.acme}/sessions?q={SECRET}")
    await expect(found).to_have_count(0)
    assert SECRET not in (await page.content()).replace(f"q={SECRET}", "").replace(
        f'value="{SECRET}"', "").replace(f"“{SECRET}”", "")
    assert not page.js_errors, page.js_errors
