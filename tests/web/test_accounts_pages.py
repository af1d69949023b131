"""The sign-up page and member management in the browser: the sign-in page links to sign-up
while sign-up is open, and an admin re-roles and removes a member from the Members page, where
the last admin's removal is refused with an explanation."""

from __future__ import annotations

import uuid

from playwright.async_api import expect

from pulse.storage import accounts, auth_sessions
from tests.web.conftest import shot, sign_in
from tests.web.seed import PASSWORD


async def test_sign_up_page(page, backend):
    await page.goto("/dashboard/sign-in")
    await page.get_by_role("link", name="Create an account").click()
    await page.wait_for_url("**/dashboard/sign-up")
    email = f"newcomer-{uuid.uuid4().hex[:8]}@example.com"
    await page.get_by_label("Name", exact=True).fill("Newcomer")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("Project name").fill("Newcomer's app")
    await shot(page, "sign-up", backend.name)
    await page.get_by_role("button", name="Create account").click()
    await page.wait_for_url("**/dashboard/sign-in?created=*")
    await expect(page.get_by_role("status")).to_contain_text("sign in")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/dashboard/p/**")
    await expect(page.get_by_test_id("project-switcher")).to_contain_text("Newcomer's app")


async def test_members_re_role_and_remove(page, pool, backend):
    tag = uuid.uuid4().hex[:8]
    pw = await auth_sessions.hash_password(PASSWORD)
    admin = await accounts.create_user(pool, f"boss-{tag}@example.com", "Boss", pw)
    project = (await accounts.create_owned_project(pool, admin, "Team")).project_id
    other = await accounts.create_user(pool, f"dev-{tag}@example.com", "Dev", pw)
    await accounts.add_member(pool, project, other, "user")
    await sign_in(page, f"boss-{tag}@example.com")
    await page.goto(f"/dashboard/p/{project}/members")
    page.on("dialog", lambda d: d.accept())
    # the only admin cannot remove themselves
    await page.get_by_role("button", name=f"Remove boss-{tag}@example.com").click()
    await expect(page.get_by_role("alert")).to_contain_text("at least one admin")
    row = page.locator(f"tr[data-member='dev-{tag}@example.com']")
    role = row.get_by_label(f"Role of dev-{tag}@example.com", exact=True)
    await role.select_option("admin")
    await row.get_by_role("button", name="Change role").click()
    await expect(role).to_have_value("admin")
    await shot(page, "members-manage", backend.name)
    await row.get_by_role("button", name=f"Remove dev-{tag}@example.com").click()
    await expect(page.locator(f"tr[data-member='dev-{tag}@example.com']")).to_have_count(0)
    assert await accounts.membership_role(pool, other, project) is None
    assert not page.js_errors, page.js_errors
