"""Lenient attribute access: numbers sent as strings, JSON sent as strings,
``"true"``/``"false"`` booleans, and flattened indexed keys rebuilt into lists.

Every convention module reads attributes through these helpers, so that "liberal in what we
accept" is implemented once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

Attrs = Mapping[str, Any]

_MAX_INT = 2**63 - 1


def get_str(attrs: Attrs, *keys: str) -> str | None:
    """First non-empty value among ``keys`` as text (numbers/bools are stringified)."""
    for key in keys:
        text = as_str(attrs.get(key))
        if text:
            return text
    return None


def as_str(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def as_int(value: Any) -> int | None:
    """Integer from int, integral float or numeric string; None otherwise (and for non-finite)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if abs(value) <= _MAX_INT else None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and abs(value) <= _MAX_INT else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return as_int(int(text))
        except ValueError:
            try:
                return as_int(float(text))
            except ValueError:
                return None
    return None


def get_int(attrs: Attrs, *keys: str) -> int | None:
    for key in keys:
        number = as_int(attrs.get(key))
        if number is not None:
            return number
    return None


def as_decimal(value: Any) -> Decimal | None:
    """Finite Decimal from a number or numeric string (via ``str`` to keep the decimal digits)."""
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def get_decimal(attrs: Attrs, *keys: str) -> Decimal | None:
    for key in keys:
        number = as_decimal(attrs.get(key))
        if number is not None:
            return number
    return None


def get_float(attrs: Attrs, *keys: str) -> float | None:
    number = get_decimal(attrs, *keys)
    return float(number) if number is not None else None


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
    if isinstance(value, int):
        return value != 0
    return None


def as_json(value: Any) -> Any:
    """A structured value, or a string holding JSON (object/array/quoted string) decoded."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[", '"'):
            try:
                return json.loads(text)
            except (ValueError, RecursionError):
                return value
    return value


def get_json(attrs: Attrs, *keys: str) -> Any:
    """First present value among ``keys``, JSON-decoded when it is a JSON string."""
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return as_json(value)
    return None


def as_list(value: Any) -> list[Any] | None:
    """A list from a list or a JSON-array string, else None."""
    decoded = as_json(value)
    return decoded if isinstance(decoded, list) else None


def as_dict(value: Any) -> dict[str, Any] | None:
    decoded = as_json(value)
    return decoded if isinstance(decoded, dict) else None


def has_prefix(attrs: Attrs, *prefixes: str) -> bool:
    return any(key.startswith(prefixes) for key in attrs)


def with_prefix(attrs: Attrs, prefix: str) -> dict[str, Any]:
    """Sub-dict of keys under ``prefix`` (the prefix stripped)."""
    return {k[len(prefix) :]: v for k, v in attrs.items() if k.startswith(prefix) and k != prefix}


def unflatten(attrs: Attrs, prefix: str) -> list[Any]:
    """Rebuild flattened indexed keys (``llm.input_messages.0.message.role``) into a list.

    ``unflatten(a, "llm.input_messages.")`` -> ``[{"message": {"role": ...}}, ...]``; numeric path
    segments become list positions (sorted; gaps closed). Conflicting paths keep the first value.
    """
    tree: dict[str, Any] = {}
    for key, value in with_prefix(attrs, prefix).items():
        _insert(tree, key.split("."), value)
    result = _listify(tree)
    return result if isinstance(result, list) else []


def _insert(tree: dict[str, Any], path: list[str], value: Any) -> None:
    node = tree
    for segment in path[:-1]:
        child = node.setdefault(segment, {})
        if not isinstance(child, dict):
            return
        node = child
    node.setdefault(path[-1], value)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted
