"""Chart data of the Overview and Analytics pages: the series charts.js draws.

Every series spans the selected range bucket by bucket (hours up to two days, days beyond), with
zero for buckets without data, so the x-axis is the range the user picked - not the span of the
data (a day of data in a 7-day range is one bar among seven, not an axis stretched around one
point). ``xmin``/``xmax`` are the range's ends (epoch seconds) and ``step`` one bucket, so the
charts can pin the axis to the range and leave half a bucket of room for the first and last bar.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

MAX_BUCKETS = 2400  # 100 days of hours; a custom range beyond falls back to the data's buckets


def _floor(t: datetime, bucket: str) -> datetime:
    t = t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return t.replace(hour=0) if bucket == "day" else t


def _label(t: datetime, bucket: str) -> str:
    return t.strftime("%Y-%m-%d %H:00:00" if bucket == "hour" else "%Y-%m-%d")


def epoch(period: str) -> int:
    fmt = "%Y-%m-%d %H:%M:%S" if " " in period else "%Y-%m-%d"
    return int(datetime.strptime(period, fmt).replace(tzinfo=UTC).timestamp())


def periods(date_from: datetime | None, date_to: datetime | None, bucket: str,
            seen: set[str]) -> list[str]:
    """Every bucket label of the range (or of the data, for an open range), oldest first."""
    if date_from is None or date_to is None:
        if not seen:
            return []
        date_from = datetime.fromtimestamp(min(epoch(p) for p in seen), UTC)
        date_to = datetime.fromtimestamp(max(epoch(p) for p in seen), UTC)
    step = timedelta(hours=1) if bucket == "hour" else timedelta(days=1)
    t, end = _floor(date_from, bucket), _floor(date_to, bucket)
    if (end - t) / step > MAX_BUCKETS:
        return sorted(seen)
    out = []
    while t <= end:
        out.append(_label(t, bucket))
        t += step
    # data outside the computed buckets (never expected) still shows rather than vanishing
    return sorted(set(out) | seen)


def _frame(labels: list[str], bucket: str, date_from, date_to) -> dict[str, Any]:
    step = 3600 if bucket == "hour" else 86400
    xs = [epoch(p) for p in labels]
    lo = int(date_from.timestamp()) if date_from else (xs[0] if xs else 0)
    hi = int(date_to.timestamp()) if date_to else (xs[-1] + step if xs else 0)
    return {"x": xs, "bucket": bucket, "step": step, "xmin": lo, "xmax": hi}


def llm_series(data: dict, bucket: str, date_from: datetime | None,
               date_to: datetime | None) -> dict:
    """Cost per bucket per provider (dollars), and requests/errors per bucket."""
    seen = {row["period"] for row in data["costOverTime"]} | {g["key"] for g in data["groups"]}
    labels = periods(date_from, date_to, bucket, seen)
    index = {p: i for i, p in enumerate(labels)}
    providers = sorted({row["provider"] for row in data["costOverTime"]})
    cost = {p: [0.0] * len(labels) for p in providers}
    for row in data["costOverTime"]:
        cost[row["provider"]][index[row["period"]]] = round(row["costCents"] / 100, 8)
    requests = [0] * len(labels)
    errors = [0] * len(labels)
    for g in data["groups"]:
        requests[index[g["key"]]] = g["requests"]
        errors[index[g["key"]]] = round(g["requests"] * g["errorRate"] / 100)
    return {**_frame(labels, bucket, date_from, date_to), "cost": cost, "requests": requests,
            "errors": errors}


def spans_series(agents: dict, bucket: str, date_from: datetime | None,
                 date_to: datetime | None) -> dict:
    """Span rows per bucket."""
    counts_by = {p["period"]: p["count"] for p in agents["spansOverTime"]}
    labels = periods(date_from, date_to, bucket, set(counts_by))
    return {**_frame(labels, bucket, date_from, date_to),
            "counts": [counts_by.get(p, 0) for p in labels]}
