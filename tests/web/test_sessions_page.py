"""Issue 15 acceptance 1 and 3 on the Sessions page: each session id is one row (the seeded
Claude Code session has LLM calls and agent spans: kind "LLM + agent"), the table fits its
container at 1280 and 1440 px, and the Overview counts sessions the way the Sessions page lists
them (same number for the same range)."""

from __future__ import annotations

from playwright.async_api import expect

from tests.web.conftest import shot, sign_in
from tests.web.seed import AGENT_SESSION
from tests.web.test_charts import OVERFLOW


async def test_one_row_per_session_and_no_overflow(page, world, backend):
    await sign_in(page, world.email)
    for width in (1280, 1440):
        await page.set_viewport_size({"width": width, "height": 900})
        await page.goto(f"/dashboard/p/{world.acme}/sessions")
        row = page.locator("table.sessions tbody tr").filter(has_text=AGENT_SESSION[:22])
        await expect(row).to_have_count(1)
        await expect(row.locator(".tag")).to_have_text("LLM + agent")
        await expect(row).to_contain_text("The parser test fails")  # first prompt
        assert await page.evaluate(OVERFLOW) == [], width
        errors = page.get_by_role("columnheader", name="Errors")
        await expect(errors).to_be_in_viewport()
    await page.set_viewport_size({"width": 1280, "height": 860})
    await shot(page, "sessions-1280", backend.name)
    await page.goto(f"/dashboard/p/{world.acme}/sessions?kind=both")
    await expect(page.locator("table.sessions tbody tr[data-href]")).to_have_count(1)


async def test_overview_counts_sessions_like_the_sessions_page(page, world):
    await sign_in(page, world.email)
    await page.goto(f"/dashboard/p/{world.acme}?range=7d")
    overview = await page.get_by_test_id("kpi-sessions").inner_text()
    await page.goto(f"/dashboard/p/{world.acme}/sessions?range=7d")
    listed = await page.get_by_test_id("sessions-total").inner_text()
    assert overview == listed
    await page.goto(f"/dashboard/p/{world.acme}/analytics?range=7d")
    await expect(page.locator(".kpi").filter(has_text="LLM sessions")).to_have_count(1)
