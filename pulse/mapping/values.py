"""Small pure helpers shared by every mapping: JSON sanitising and timestamp parsing.

PostgreSQL cannot store NUL characters in ``text`` or ``jsonb``, and UTF-8 cannot encode lone
surrogates (which ``json.loads`` happily produces from ``"\\ud800"``). Rather than reject telemetry
for one odd character, :func:`clean_json` replaces both with U+FFFD, so storage never fails on them.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson

REPLACEMENT = "\ufffd"
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")

INT64_MAX = 2**63 - 1


def clean_str(value: str) -> str:
    """``value`` with NUL and lone surrogates replaced by U+FFFD."""
    if _BAD_CHARS.search(value) is None:
        return value
    return _BAD_CHARS.sub(REPLACEMENT, value)


def clean_json(value: Any) -> Any:
    """A value PostgreSQL ``jsonb`` accepts (the same object when it already is one).

    Strings (keys included) lose NUL/lone surrogates; non-finite floats (NaN, +-Infinity, which
    jsonb rejects) become None; integers beyond int64 become their decimal string so they are kept
    rather than failing the batch.

    Fast path: nearly every value is already clean, and orjson tells in one C pass. It refuses lone
    surrogates, integers beyond 64 bits and non-string keys, and writes NUL as ``\u0000``; any of
    those sends the value through the Python walk. (orjson writes NaN as null, as the walk does.)
    """
    if isinstance(value, (dict, list)):
        try:
            encoded = orjson.dumps(value)
        except (orjson.JSONEncodeError, TypeError):
            return _clean_walk(value)
        return value if b"\\u0000" not in encoded else _clean_walk(value)
    return _clean_walk(value)


def _clean_walk(value: Any) -> Any:
    if isinstance(value, str):
        return clean_str(value)
    if isinstance(value, dict):
        return {clean_str(str(k)): _clean_walk(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_walk(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -INT64_MAX - 1 <= value <= INT64_MAX else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return clean_str(str(value))


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


def from_unix_nanos(nanos: int) -> datetime:
    """Datetime (UTC) from OTLP ``time_unix_nano``. Raises ValueError outside the storable range."""
    if nanos < 0:
        raise ValueError("negative timestamp")
    seconds, rem = divmod(nanos, 1_000_000_000)
    try:
        return datetime.fromtimestamp(seconds, tz=UTC) + timedelta(microseconds=rem // 1000)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError("timestamp out of range") from exc
