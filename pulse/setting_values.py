"""How a setting's text (environment variable or ``otel-config.yaml`` value) becomes a typed,
validated value: one parser per kind of setting, used by the declarations in ``pulse/config.py``.

A parser raises ``ValueError`` (or ``TypeError``) with a message that says what is wrong; the
settings loader turns it into a ``ConfigError`` naming the setting and where the value came from.
This module imports nothing from the project.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def int_range(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError("expected an integer")
        number = int(str(value).strip())
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number

    return parse


def choice(*allowed: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return text

    return parse


def optional_url(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    if not re.match(r"^postgres(ql)?://", text):
        raise ValueError("must be a postgresql:// URL (or empty for the embedded database)")
    return text


def optional_path(value: Any) -> Path | None:
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    path = Path(text).expanduser()
    if not path.is_file():
        raise ValueError("no such file")
    return path


def origins(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    out = tuple(str(o).strip().rstrip("/") for o in items if str(o).strip())
    for origin in out:
        if not re.match(r"^https?://[^/\s]+$", origin):
            raise ValueError(f"{origin!r} is not an origin like https://pulse.example.com")
    return out


def addresses(value: Any) -> tuple[str, ...]:
    """Proxy addresses or networks (``10.0.0.1``, ``10.0.0.0/8``, ``::1``), comma-separated."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    out = tuple(str(a).strip() for a in items if str(a).strip())
    for address in out:
        ipaddress.ip_network(address, strict=False)  # ValueError names the bad one
    return out


def aliases(value: Any) -> tuple[tuple[str, str], ...]:
    """``{name: model}`` (YAML), or ``name=model,name=model`` (environment)."""
    if value is None or value == "":
        return ()
    if isinstance(value, Mapping):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    else:
        pairs = []
        for part in str(value).split(","):
            if part.strip():
                name, sep, model = part.partition("=")
                if not sep:
                    raise ValueError(f"{part.strip()!r} is not name=model")
                pairs.append((name, model))
    out = tuple((name.strip(), model.strip()) for name, model in pairs)
    if any(not name or not model for name, model in out):
        raise ValueError("every alias needs a deployment name and a model name")
    return out


def nats_urls(value: Any) -> str:
    urls = [u.strip() for u in str(value or "").split(",") if u.strip()]
    if not urls or not all(re.match(r"^(nats|tls)://[^/\s]+$", u) for u in urls):
        raise ValueError("must be nats://host:port (comma-separated for a cluster)")
    return ",".join(urls)


def stream_name(value: Any) -> str:
    text = str(value or "").strip()
    if not re.match(r"^[A-Za-z0-9_-]{1,64}$", text):
        raise ValueError("must be 1-64 letters, digits, _ or -")
    return text


def path(value: Any) -> Path:
    text = str(value).strip()
    if not text:
        raise ValueError("must not be empty")
    return Path(text).expanduser()


def endpoint(value: Any) -> tuple[str, int]:
    text = str(value).strip()
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("must be host:port (port 0-65535)")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104
