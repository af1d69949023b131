"""Timestamps: RFC 3339 text (native API) and OTLP ``time_unix_nano`` -> aware datetimes.

Both reject what PostgreSQL ``timestamptz`` or Python cannot hold with ``ValueError``, so callers
can turn it into a validation message or a counted rejection.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone

# RFC 3339: date, 'T' (or space/lowercase t), time with optional fraction, and Z or +-HH:MM.
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp that *must* carry ``Z`` or an offset; any number of fraction
    digits (beyond microseconds they are truncated). Raises ValueError otherwise."""
    m = _RFC3339.match(text.strip())
    if m is None:
        raise ValueError("expected an RFC 3339 timestamp with Z or +-HH:MM offset")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction = (m.group(7) or "")[:6].ljust(6, "0")
    zone = m.group(8)
    if zone in ("Z", "z"):
        tz: timezone = UTC
    else:
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError("invalid UTC offset")
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    if second == 60:  # leap second: RFC 3339 allows it, Python does not
        second = 59
    return datetime(year, month, day, hour, minute, second, int(fraction), tzinfo=tz)


# PostgreSQL timestamptz spans 4713 BC .. 294276 AD; Python's datetime 1..9999. We accept the
# intersection that makes sense for telemetry and reject the rest as invalid input.
MIN_TIMESTAMP = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TIMESTAMP = datetime(9999, 12, 31, tzinfo=UTC)


# First nanosecond Python's datetime cannot hold (year 10000), as Unix nanoseconds.
END_UNIX_NANOS = 253_402_300_800 * 1_000_000_000


def valid_unix_nanos(nanos: int) -> bool:
    """Whether :func:`from_unix_nanos` accepts ``nanos`` and it is not the zero "unset" time
    (an integer comparison: items are checked before any datetime is built)."""
    return 0 < nanos < END_UNIX_NANOS


def from_unix_nanos(nanos: int) -> datetime:
    """Datetime (UTC) from OTLP ``time_unix_nano``. Raises ValueError outside the storable range."""
    if nanos < 0:
        raise ValueError("negative timestamp")
    if nanos >= END_UNIX_NANOS:
        raise ValueError("timestamp out of range")
    seconds, rem = divmod(nanos, 1_000_000_000)
    try:
        return datetime.fromtimestamp(seconds, tz=UTC) + timedelta(microseconds=rem // 1000)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError("timestamp out of range") from exc


def whole_ms(value: float) -> int:
    """A trace's latency as stored and returned on every path: whole milliseconds, half up
    (OTel spans time in nanoseconds, the Pulse SDKs send integers; one type for ``latencyMs``)."""
    return max(math.floor(value + 0.5), 0)


MAX_DURATION_MS = 10**12  # ~31 years, as the native API's bound


def duration_ms(value: int | None) -> int | None:
    """A reported ``duration_ms`` we can time a record by: None when absent, negative or absurd
    (a negative one would put the start after the end, past what a timestamp can hold)."""
    return value if value is not None and 0 <= value <= MAX_DURATION_MS else None
