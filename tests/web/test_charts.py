"""Issue 15 acceptance 1 (charts): on a one-day and a 30-day dataset the Overview and Analytics
charts span exactly the selected range with one bucket per period (zero-filled), every series
with data is drawn, y labels fit their axis, sub-cent costs keep significant digits, and no table
overflows its container at 1280 px. Each project is seeded here, owned by its own user."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import pytest_asyncio
from playwright.async_api import expect

from pulse.records import SpanRecord, TraceRecord
from pulse.storage import accounts, auth_sessions
from pulse.storage.writer import write_records
from tests.web.conftest import shot, sign_in
from tests.web.seed import PASSWORD

RANGES = {"24h": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}


@dataclass
class Datasets:
    email: str
    one_day: uuid.UUID
    month: uuid.UUID


def _trace(project_ts: datetime, cost: str) -> TraceRecord:
    return TraceRecord(
        trace_id=uuid.uuid4(), timestamp=project_ts, provider="openai",
        model_requested="gpt-4o-mini", request_body={"messages": [
            {"role": "user", "content": "hi"}]}, status="success", latency_ms=300.0,
        input_tokens=20, output_tokens=5, cost_cents=Decimal(cost),
        session_id="chart-session", metadata={"cost_source": "computed"})


def _span(ts: datetime) -> SpanRecord:
    return SpanRecord(span_id=uuid.uuid4(), session_id="chart-agent", timestamp=ts,
                      source="claude_code", kind="tool_use", event_type="post_tool_use",
                      tool_name="Read", status="success")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def datasets(pool) -> Datasets:
    email = f"charts-{uuid.uuid4().hex[:8]}@example.com"
    user = await accounts.create_user(pool, email, "Chart Reader",
                                      await auth_sessions.hash_password(PASSWORD))
    one_day = (await accounts.create_owned_project(pool, user, "One day")).project_id
    month = (await accounts.create_owned_project(pool, user, "Thirty days")).project_id
    now = datetime.now(UTC).replace(microsecond=0)
    day = now - timedelta(days=2)  # one day of data, outside the last 24 hours
    items = [(one_day, _trace(day + timedelta(minutes=i), "0.079")) for i in range(3)]
    items += [(one_day, _span(day + timedelta(minutes=i))) for i in range(4)]
    for d in range(30):
        ts = now - timedelta(days=d, hours=1)
        items += [(month, _trace(ts, "0.4")), (month, _span(ts))]
    await write_records(pool, items)
    return Datasets(email, one_day, month)


CHARTS = """() => Array.from(document.querySelectorAll('[data-chart]')).map((el) => {
  const u = el.uplot, d = JSON.parse(document.getElementById(el.dataset.source).textContent);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = u.axes[1].font[0];
  return {
    chart: el.dataset.chart, min: u.scales.x.min, max: u.scales.x.max, n: u.data[0].length,
    step: d.step || 86400,
    drawn: u.series.slice(1).map((s, i) => ({
      show: s.show, marked: s.points.show !== false || !!s.paths,
      nonzero: u.data[i + 1].filter((v) => v > 0).length})),
    labelWidth: Math.max(...u.axes[1]._values.map((v) => ctx.measureText(v).width)),
    axisSize: u.axes[1]._size,
  };
})"""


OVERFLOW = """() => Array.from(document.querySelectorAll('table')).filter((t) => {
  const box = t.closest('.tablewrap, .card, main') || t.parentElement;
  return t.getBoundingClientRect().right > box.getBoundingClientRect().right + 1;
}).map((t) => t.className || t.id || 'table')"""


async def _check_charts(page, key: str) -> list[dict]:
    await expect(page.locator(".chart canvas").first).to_be_visible()
    charts = await page.evaluate(CHARTS)
    now = datetime.now(UTC).timestamp()
    lo, hi = now - RANGES[key].total_seconds(), now
    for c in charts:
        step = c["step"]
        # the axis is the selected range: no further than a bucket beyond either end ...
        assert lo - 1.5 * step <= c["min"] <= lo, (key, c)
        assert hi <= c["max"] <= hi + 1.5 * step, (key, c)
        # ... with one zero-filled bucket per period
        assert abs(c["n"] - RANGES[key].total_seconds() / step) <= 2, (key, c)
        for s in c["drawn"]:
            if s["nonzero"]:
                assert s["show"] and s["marked"], (key, c)  # a lone point too
        # tick (10) + gap (5) + the widest label fit in the axis: no "$" cut off
        assert c["labelWidth"] + 15 <= c["axisSize"], (key, c)
    return charts


@pytest.mark.parametrize("dataset", ["one_day", "month"])
async def test_charts_span_the_selected_range(page, datasets, backend, dataset):
    project = getattr(datasets, dataset)
    await sign_in(page, datasets.email)
    for key in ("7d", "30d"):
        await page.goto(f"/dashboard/p/{project}?range={key}")
        charts = await _check_charts(page, key)
        cost = next(c for c in charts if c["chart"] == "cost")
        drawn = sum(s["nonzero"] for s in cost["drawn"])
        assert drawn == 1 if dataset == "one_day" else drawn >= 6, cost
        assert await page.evaluate(OVERFLOW) == []
        if key == "7d":
            await shot(page, f"overview-{dataset}", backend.name)
        await page.goto(f"/dashboard/p/{project}/analytics?range={key}")
        await _check_charts(page, key)
        assert await page.evaluate(OVERFLOW) == []
        if key == "30d":
            await shot(page, f"analytics-{dataset}", backend.name)
    assert not page.js_errors, page.js_errors


async def test_sub_cent_costs_keep_significant_digits(page, datasets):
    await sign_in(page, datasets.email)
    await page.goto(f"/dashboard/p/{datasets.one_day}?range=7d")
    # 3 calls of 0.079 cents: $0.00237, shown as $0.0024 - never "$0.0000" or "$0"
    await expect(page.locator(".kpi").filter(has_text="Cost")).to_contain_text("$0.0024")
    assert await page.evaluate("window.pulseDollars(0.00079123)") == "$0.00079"
    await page.goto(f"/dashboard/p/{datasets.one_day}/traces?range=all")
    await expect(page.locator("#trace-rows tr").first).to_contain_text("$0.00079")
