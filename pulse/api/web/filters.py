"""URL state of the dashboard pages: time ranges, trace filters and paging, parsed leniently
(a page never answers 400 for a hand-edited URL: unknown values fall back to the default and
the form shows what was applied)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from pulse.api.params import parse_date
from pulse.errors import InvalidInput
from pulse.storage.queries import TraceFilters, normalise_provider

RANGES = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7),
          "30d": timedelta(days=30), "90d": timedelta(days=90)}
RANGE_LABELS = {"1h": "Last hour", "24h": "Last 24 hours", "7d": "Last 7 days",
                "30d": "Last 30 days", "90d": "Last 90 days", "all": "All time",
                "custom": "Custom"}
STATUSES = ("success", "error")
PAGE_SIZE = 50


@dataclass(frozen=True)
class TimeRange:
    key: str
    date_from: datetime | None
    date_to: datetime | None

    @property
    def label(self) -> str:
        return RANGE_LABELS.get(self.key, self.key)

    @property
    def bucket(self) -> str:
        """Chart bucket: hours up to two days, days beyond."""
        if self.date_from is None or self.date_to is None:
            return "day"
        return "hour" if self.date_to - self.date_from <= timedelta(days=2) else "day"


def _date(raw: str | None, end: bool) -> datetime | None:
    if not raw:
        return None
    try:
        return parse_date("date", raw, end_of_day=end)
    except InvalidInput:
        return None


def time_range(q: QueryParams, default: str = "7d", allow_all: bool = False) -> TimeRange:
    key = q.get("range") or default
    now = datetime.now(UTC)
    if key == "custom":
        f, t = _date(q.get("from"), False), _date(q.get("to"), True)
        if f and t and f <= t:
            return TimeRange("custom", f, t)
        key = default
    if key == "all" and allow_all:
        return TimeRange("all", None, None)
    if key not in RANGES:
        key = default
    if key == "all":
        return TimeRange("all", None, None)
    return TimeRange(key, now - RANGES[key], now)


def _text(q: QueryParams, name: str, max_len: int = 256) -> str | None:
    raw = (q.get(name) or "").strip()
    if not raw or len(raw) > max_len or "\x00" in raw:
        return None
    return raw


@dataclass(frozen=True)
class TraceQuery:
    provider: str | None
    model: str | None
    status: str | None
    session: str | None
    range: TimeRange
    page: int
    q: str | None = None  # full-text search

    @property
    def filters(self) -> TraceFilters:
        return TraceFilters(
            session_id=self.session, provider=self.provider, model=self.model,
            status=self.status, date_from=self.range.date_from, date_to=self.range.date_to,
            q=self.q,
        )

    @property
    def active(self) -> bool:
        return any((self.provider, self.model, self.status, self.session, self.q))

    def url_args(self, **override) -> str:
        args = {"provider": self.provider, "model": self.model, "status": self.status,
                "session": self.session, "q": self.q, "range": self.range.key,
                "page": self.page}
        if self.range.key == "custom":
            args["from"] = self.range.date_from.date().isoformat()
            args["to"] = self.range.date_to.date().isoformat()
        args.update(override)
        return urlencode({k: v for k, v in args.items() if v not in (None, "", 1)})


def trace_query(q: QueryParams) -> TraceQuery:
    status = q.get("status")
    page = q.get("page", "1")
    return TraceQuery(
        provider=_text(q, "provider"), model=_text(q, "model"),
        status=status if status in STATUSES else None, session=_text(q, "session"),
        range=time_range(q, default="7d", allow_all=True),
        page=min(int(page), 10_000) if page.isdigit() and int(page) > 0 else 1,
        q=_text(q, "q"),
    )


def resolve(tq: TraceQuery, values: dict[str, list[str]]) -> tuple[TraceQuery, list[dict]]:
    """Typed filter values against the values that exist: the provider normalised as the API
    does, a model matched case-insensitively (a part of one name picks that name). Returns the
    query to run and notes for the page (what was picked, or the names a part matches)."""
    notes: list[dict] = []
    provider = normalise_provider(tq.provider) if tq.provider else None
    model = tq.model
    if model and model not in values["models"]:
        low = model.lower()
        exact = [m for m in values["models"] if m.lower() == low]
        partial = exact or [m for m in values["models"] if low in m.lower()]
        if len(partial) == 1:
            notes.append({"text": f"Model “{model}” means {partial[0]}.", "options": []})
            model = partial[0]
        elif partial:
            notes.append({"text": f"“{model}” is part of {len(partial)} models - pick one:",
                          "options": partial[:12]})
    return replace(tq, provider=provider, model=model), notes


def single_filters(tq: TraceQuery) -> list[tuple[str, str, TraceFilters]]:
    """(label, value, filters with only that one) for each active filter, to tell which one
    excluded everything."""
    r = tq.range
    out = []
    for label, value, f in (
        ("model", tq.model, TraceFilters(model=tq.model)),
        ("provider", tq.provider, TraceFilters(provider=tq.provider)),
        ("status", tq.status, TraceFilters(status=tq.status)),
        ("session", tq.session, TraceFilters(session_id=tq.session)),
        ("text", tq.q, TraceFilters(q=tq.q)),
    ):
        if value:
            out.append((label, value, replace(f, date_from=r.date_from, date_to=r.date_to)))
    return out
