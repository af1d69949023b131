"""Display filters of the dashboard (issue 15): sub-cent costs keep two significant digits, and
dates carry the year when it is not the current one."""

from __future__ import annotations

from datetime import UTC, datetime

from pulse.api.web.render import fmt_cents, fmt_ts


def test_costs_keep_significant_digits():
    assert fmt_cents(0.079) == "$0.00079"  # a gpt-4o-mini call: never "$0.0000"
    assert fmt_cents(0.0008) == "$0.000008"
    assert fmt_cents(0.5) == "$0.005"
    assert fmt_cents(0) == "$0"
    assert fmt_cents(123) == "$1.23"
    assert fmt_cents(1234567) == "$12,346"
    assert fmt_cents(None) == "–"


def test_dates_show_the_year_when_not_the_current_one():
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert fmt_ts("2026-01-25T12:00:00Z", now=now) == "Jan 25 12:00:00"
    assert fmt_ts("2025-01-25T12:00:00Z", now=now) == "Jan 25 2025 12:00:00"
    assert fmt_ts("2025-01-25T12:00:00Z", seconds=False, now=now) == "Jan 25 2025 12:00"
