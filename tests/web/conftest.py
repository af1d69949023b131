"""Browser-test fixtures: Debian's headless Chromium driven by Playwright (no browser download:
``executable_path`` points at ``/usr/bin/chromium``), seeded data per database backend, and a
screenshot helper writing to ``test-artifacts/screenshots/``.

Without Chromium the browser tests are skipped with the reason - unless ``CI=true``, where a
missing browser is a failure (``.ci/run`` installs the ``chromium`` package).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import pytest_asyncio

from tests.conftest import CI
from tests.web.seed import PASSWORD, World, seed

CHROMIUM = os.environ.get("PULSE_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
README_SHOTS = {"overview", "session-detail"}  # copied to docs/screenshots for the README


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser():
    problem = _missing()
    if problem:
        if CI:
            pytest.fail(f"CI=true requires the browser tests to run: {problem}", pytrace=False)
        pytest.skip(f"browser tests skipped: {problem}")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        await b.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def world(pool) -> World:
    return await seed(pool)


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser, server):
    context = await browser.new_context(
        base_url=server, viewport={"width": 1280, "height": 860}, device_scale_factor=1,
        extra_http_headers={"X-Forwarded-For": f"10.77.{os.getpid() % 250}.{id(server) % 250}"},
    )
    context.set_default_timeout(15_000)
    pg = await context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda m: errors.append(m.text)
          if m.type == "error" and "Failed to load resource" not in m.text else None)
    pg.on("response", lambda r: errors.append(f"{r.status} {r.url}")
          if r.status >= 400 and "/static/" in r.url else None)
    pg.js_errors = errors
    yield pg
    await context.close()


async def sign_in(pg, email: str, password: str = PASSWORD) -> None:
    await pg.goto("/dashboard")
    await pg.get_by_label("Email").fill(email)
    await pg.get_by_label("Password").fill(password)
    await pg.get_by_role("button", name="Sign in").click()
    await pg.wait_for_url("**/dashboard/p/**")


async def shot(pg, name: str, backend_name: str) -> Path:
    """Full-page screenshot into test-artifacts/. With PULSE_UPDATE_SCREENSHOTS=1 the plain-backend
    run also refreshes the README's images in docs/screenshots (tests never touch the repository
    otherwise)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}-{backend_name}.png"
    await pg.screenshot(path=str(path), full_page=True)
    refresh = os.environ.get("PULSE_UPDATE_SCREENSHOTS") == "1"
    if refresh and name in README_SHOTS and backend_name == "plain":
        docs = ROOT / "docs" / "screenshots"
        docs.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, docs / f"{name}.png")
    return path
