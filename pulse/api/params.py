"""Query-string parsing with the exact errors of docs/api.md §Conventions.

Dates accept ISO 8601 (a naive value is UTC), epoch seconds or milliseconds (digits; below 1e12
means seconds) and ``YYYY-MM-DD`` (start of day for ``date_from``, end of day for ``date_to``).
The analytics routes refuse the date-only form (``datetime_only``), as the reference Pulse
service does: a range of whole days there is spelled with full datetimes.

Every date must lie in ``[DATE_MIN, DATE_MAX]`` (1970 to 2262, the range of OTLP's
nanosecond timestamps): outside it no row can exist, and the storage layer's range arithmetic
(an exclusive end one microsecond later, whole-hour edges) would overflow Python's datetime.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from starlette.datastructures import QueryParams
from starlette.requests import Request

from pulse.errors import InvalidInput

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DIGITS = re.compile(r"^\d{1,16}$")
DATE_MIN = datetime(1970, 1, 1, tzinfo=UTC)
DATE_MAX = datetime(2262, 4, 11, tzinfo=UTC)  # 2**63 ns after the epoch, rounded down to a day


def parse_date(
    name: str, raw: str, *, end_of_day: bool, datetime_only: bool = False
) -> datetime:
    text = raw.strip()
    if datetime_only and _DAY.match(text):
        raise InvalidInput(
            f"Invalid {name} parameter: a full ISO 8601 datetime is required"
            f" (e.g. {text}T00:00:00Z), not a date"
        )
    value = _parse(name, text, end_of_day)
    if not DATE_MIN <= value <= DATE_MAX:
        raise InvalidInput(f"Invalid {name} parameter", [{
            "field": name,
            "message": "Must be between 1970-01-01T00:00:00Z and 2262-04-11T00:00:00Z",
        }])
    return value


def _parse(name: str, text: str, end_of_day: bool) -> datetime:
    try:
        if _DAY.match(text):
            day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
            return day + timedelta(days=1, microseconds=-1) if end_of_day else day
        if _DIGITS.match(text):
            number = int(text)
            seconds = number if number < 10**12 else number / 1000
            return datetime.fromtimestamp(seconds, tz=UTC)
        value = datetime.fromisoformat(text.replace("z", "Z"))
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidInput(f"Invalid {name} parameter") from None


def date_range(q: QueryParams) -> tuple[datetime | None, datetime | None]:
    date_from = (
        parse_date("date_from", q["date_from"], end_of_day=False) if q.get("date_from") else None
    )
    date_to = parse_date("date_to", q["date_to"], end_of_day=True) if q.get("date_to") else None
    return date_from, date_to


class QueryErrors:
    """Collects ``{"field","message"}`` problems; raises one 400 with all of them."""

    def __init__(self) -> None:
        self.details: list[dict[str, Any]] = []

    def add(self, field: str, message: str) -> None:
        self.details.append({"field": field, "message": message})

    def raise_if_any(self) -> None:
        if self.details:
            raise InvalidInput("Invalid query parameters", self.details)


def int_param(
    q: QueryParams, name: str, default: int, low: int, high: int, errors: QueryErrors
) -> int:
    raw = q.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"-?\d{1,12}", raw.strip()):
        errors.add(name, f"Expected an integer between {low} and {high}")
        return default
    value = int(raw)
    if not low <= value <= high:
        errors.add(name, f"Must be between {low} and {high}")
        return default
    return value


def choice_param(
    q: QueryParams, name: str, allowed: tuple[str, ...], errors: QueryErrors
) -> str | None:
    raw = q.get(name)
    if raw is None or raw == "":
        return None
    if raw not in allowed:
        errors.add(name, f"Must be one of: {', '.join(allowed)}")
        return None
    return raw


def text_param(q: QueryParams, name: str, errors: QueryErrors, max_len: int = 512) -> str | None:
    raw = q.get(name)
    if raw is None or raw == "":
        return None
    if len(raw) > max_len:
        errors.add(name, f"Must be at most {max_len} characters")
        return None
    if "\x00" in raw:
        errors.add(name, "Must not contain NUL characters")
        return None
    return raw


def paging(
    q: QueryParams, errors: QueryErrors, default_limit: int = 100, max_limit: int = 1000
) -> tuple[int, int]:
    limit = int_param(q, "limit", default_limit, 1, max_limit, errors)
    offset = int_param(q, "offset", 0, 0, 10**9, errors)
    return limit, offset


def encoded_tail(request: Request, route_prefix: str) -> list[str]:
    """The path segments after ``route_prefix`` (a route template such as
    ``/v1/sessions``), split on the request's *raw* slashes and then percent-decoded each.

    Starlette routes on the decoded path, where ``a%2Fb`` has become ``a/b``; ids that may
    contain any character (session ids) are therefore read from ``raw_path``, so an encoded
    ``/`` stays inside its segment: ``/v1/sessions/a%2Fb/spans`` -> ``["a/b", "spans"]``.
    """
    raw = request.scope.get("raw_path")
    if raw is None:  # an ASGI server without raw_path: the decoded path is all there is
        raw = quote(request.scope["path"]).encode("ascii")
    parts = raw.split(b"?", 1)[0].split(b"/")
    depth = len(route_prefix.rstrip("/").split("/"))
    return [unquote_to_bytes(p).decode("utf-8", "replace") for p in parts[depth:]]
