"""Issue 15 (filters): the Traces filters offer the values that exist (models, providers),
match them case-insensitively with the API's provider normalisation, and an empty result says
which filter excluded everything."""

from __future__ import annotations

from playwright.async_api import expect

from tests.web.conftest import shot, sign_in


async def test_filters_offer_values_and_explain_empty_results(page, world, backend):
    await sign_in(page, world.email)
    base = f"/dashboard/p/{world.acme}/traces"
    await page.goto(base)
    options = await page.locator("#dl-models option").evaluate_all(
        "els => els.map((e) => e.value)")
    assert {"gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5"} <= set(options)
    providers = await page.locator("#dl-providers option").evaluate_all(
        "els => els.map((e) => e.value)")
    assert {"openai", "anthropic"} <= set(providers)

    await page.goto(f"{base}?provider=Anthropic&range=all")  # normalised as the API does
    rows = page.locator("#trace-rows tr[data-id]")
    await expect(rows.first).to_be_visible()
    for text in await rows.all_inner_texts():
        assert "anthropic" in text
    await page.goto(f"{base}?model=CLAUDE&range=all")  # a part of one model's name
    await expect(page.get_by_test_id("filter-note")).to_contain_text("claude-sonnet-4-5")
    await expect(rows.first).to_contain_text("claude-sonnet-4-5")
    await page.goto(f"{base}?model=GPT-4O-MINI&range=all")  # another case
    await expect(rows.first).to_contain_text("gpt-4o-mini")
    await page.goto(f"{base}?model=gpt&range=all")  # part of several: pick one
    note = page.get_by_test_id("filter-note")
    await expect(note.get_by_role("link", name="gpt-4o-mini")).to_be_visible()

    await page.goto(f"{base}?model=llama-3&status=error&range=all")
    await expect(rows).to_have_count(0)
    reason = page.get_by_test_id("empty-reason")
    await expect(reason).to_contain_text("No trace has model “llama-3”")
    await expect(reason).not_to_contain_text("status")  # errors exist: not the culprit
    await shot(page, "traces-empty-reason", backend.name)
    await page.goto(f"{base}?model=gpt-4o-mini&session=conv-billing-4821&range=all")
    await expect(page.get_by_test_id("empty-reason")).to_contain_text("all of them together")
    assert not page.js_errors, page.js_errors


async def test_sessions_source_dropdown_and_analytics_provider(page, world):
    await sign_in(page, world.email)
    await page.goto(f"/dashboard/p/{world.acme}/sessions")
    options = await page.locator("#s-source option").evaluate_all(
        "els => els.map((e) => e.value)")
    assert {"claude_code", "openai", "anthropic"} <= set(options)
    await page.get_by_label("Source").select_option("claude_code")
    await page.get_by_role("button", name="Search").click()
    await page.wait_for_url("**source=claude_code**")
    rows = page.locator("table.sessions tbody tr[data-href]")
    await expect(rows).to_have_count(1)
    await page.goto(f"/dashboard/p/{world.acme}/analytics?range=7d&provider=Anthropic")
    requests = page.locator(".kpi").filter(has_text="Requests").locator(".value").first
    assert await requests.inner_text() not in ("0", "")  # normalised: anthropic's calls
