"""Values PostgreSQL can store: text without NUL, JSON without lone surrogates or NaN.

PostgreSQL cannot store NUL characters in ``text`` or ``jsonb``, and UTF-8 cannot encode lone
surrogates (which ``json.loads`` happily produces from ``"\\ud800"``). Rather than reject telemetry
for one odd character, :func:`clean_json` replaces both with U+FFFD, so storage never fails on them.
"""

from __future__ import annotations

import math
import re
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
