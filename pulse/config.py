"""One Settings object for the whole service: built-in defaults, overridden by ``otel-config.yaml``,
overridden by environment variables (SPEC.md §1). Built once at start-up by ``main``/``cli`` and
passed down as plain values; nothing deeper reads the environment (DESIGN.md habit 7).

Every setting is declared once in ``_SPECS`` with its environment variable and its place in the
YAML file (which uses the OpenTelemetry Collector's vocabulary: receivers / exporters / extensions /
service). An invalid value stops start-up with a :class:`ConfigError` naming the setting and where
the value came from.

This module imports nothing from the project but ``errors``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import platformdirs
import yaml

from pulse.errors import ConfigError

DEFAULT_CONFIG_FILE = "otel-config.yaml"
MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None = None
    data_dir: Path = Path(platformdirs.user_data_dir("pulse-bridge"))
    http_host: str = "0.0.0.0"  # noqa: S104 - a server is meant to listen on all interfaces
    http_port: int = 4318
    grpc_host: str = "0.0.0.0"  # noqa: S104
    grpc_port: int = 4317
    grpc_enabled: bool = True
    grpc_max_recv_msg_size_mib: int = 64
    max_request_body_bytes: int = 20 * MiB
    max_decompressed_bytes: int = 64 * MiB
    timescaledb: str = "auto"  # auto | require | off
    db_pool_size: int = 10
    log_level: str = "info"
    create_default_project: bool = True
    keep_generic_spans: bool = False
    role: str = "all"  # all | api | ingest
    queue_max_bytes: int = 1024 * MiB
    writer_batch_entries: int = 500
    writer_linger_ms: int = 50
    shutdown_timeout_s: int = 10
    mapping_workers: int = -1  # -1: one per core but one, at most 4
    max_inflight_bytes: int = 256 * MiB

    @property
    def mapping_worker_count(self) -> int:
        """Worker processes that map OTLP exports (0: map on the event loop)."""
        if self.mapping_workers >= 0:
            return self.mapping_workers
        return max(0, min(4, (os.cpu_count() or 1) - 1))
    # accounts and dashboard (SPEC.md §2); passed to the api layer as plain values
    session_lifetime_s: int = 7 * 24 * 3600
    signin_ip_limit: int = 20  # sign-in attempts per client address per minute
    signin_account_limit: int = 10  # failed sign-ins per account per 15 minutes
    allow_signup: bool = True
    trusted_origins: tuple[str, ...] = ()
    retention_days: int = 0  # 0 keeps data forever
    retention_interval_s: int = 3600
    prices_file: Path | None = None  # custom model prices (storage/prices.py)

    @property
    def embedded(self) -> bool:
        """True when no external database is configured: run the private PostgreSQL."""
        return not self.database_url

    @property
    def pg_data_dir(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def queue_dir(self) -> Path:
        return self.data_dir / "queue"


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    env: tuple[str, ...]
    yaml_path: tuple[str, ...]
    parse: Callable[[Any], Any]
    help: str


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _int_range(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError("expected an integer")
        number = int(str(value).strip())
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number

    return parse


def _choice(*allowed: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return text

    return parse


def _optional_url(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    if not re.match(r"^postgres(ql)?://", text):
        raise ValueError("must be a postgresql:// URL (or empty for the embedded database)")
    return text


def _optional_path(value: Any) -> Path | None:
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    path = Path(text).expanduser()
    if not path.is_file():
        raise ValueError("no such file")
    return path


def _origins(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    out = tuple(str(o).strip().rstrip("/") for o in items if str(o).strip())
    for origin in out:
        if not re.match(r"^https?://[^/\s]+$", origin):
            raise ValueError(f"{origin!r} is not an origin like https://pulse.example.com")
    return out


def _path(value: Any) -> Path:
    text = str(value).strip()
    if not text:
        raise ValueError("must not be empty")
    return Path(text).expanduser()


_SPECS: tuple[_Spec, ...] = (
    _Spec(
        "database_url",
        ("DATABASE_URL", "PULSE_DATABASE_URL"),
        ("exporters", "postgres", "endpoint"),
        _optional_url,
        "PostgreSQL URL; empty runs the embedded PostgreSQL in the data dir",
    ),
    _Spec(
        "data_dir",
        ("PULSE_DATA_DIR",),
        ("extensions", "file_storage", "directory"),
        _path,
        "where the embedded database and the ingest queue live",
    ),
    _Spec(
        "timescaledb",
        ("PULSE_TIMESCALEDB",),
        ("exporters", "postgres", "timescaledb"),
        _choice("auto", "require", "off"),
        "auto: hypertables when the extension is available; require: fail without it; off",
    ),
    _Spec(
        "db_pool_size",
        ("PULSE_DB_POOL_SIZE",),
        ("exporters", "postgres", "pool_size"),
        _int_range(2, 200),
        "maximum database connections",
    ),
    _Spec(
        "max_request_body_bytes",
        ("PULSE_MAX_REQUEST_BODY_BYTES",),
        ("receivers", "otlp", "protocols", "http", "max_request_body_size"),
        _int_range(1024, 1024 * MiB),
        "larger HTTP bodies get 413",
    ),
    _Spec(
        "max_decompressed_bytes",
        ("PULSE_MAX_DECOMPRESSED_BYTES",),
        ("receivers", "otlp", "protocols", "http", "max_decompressed_size"),
        _int_range(1024, 4096 * MiB),
        "bound on a gzip/deflate body once inflated",
    ),
    _Spec(
        "grpc_enabled",
        ("PULSE_GRPC_ENABLED",),
        ("receivers", "otlp", "protocols", "grpc", "enabled"),
        _parse_bool,
        "serve OTLP gRPC",
    ),
    _Spec(
        "grpc_max_recv_msg_size_mib",
        ("PULSE_GRPC_MAX_RECV_MSG_SIZE_MIB",),
        ("receivers", "otlp", "protocols", "grpc", "max_recv_msg_size_mib"),
        _int_range(4, 1024),
        "largest gRPC message accepted",
    ),
    _Spec(
        "log_level",
        ("PULSE_LOG_LEVEL",),
        ("service", "telemetry", "logs", "level"),
        _choice("debug", "info", "warning", "error"),
        "log verbosity",
    ),
    _Spec(
        "create_default_project",
        ("PULSE_CREATE_DEFAULT_PROJECT",),
        ("extensions", "pulse", "create_default_project"),
        _parse_bool,
        "create a project and print its key when the database has none",
    ),
    _Spec(
        "retention_days",
        ("PULSE_RETENTION_DAYS",),
        ("exporters", "postgres", "retention_days"),
        _int_range(0, 36500),
        "delete traces and spans older than this many days (0: keep forever)",
    ),
    _Spec(
        "retention_interval_s",
        ("PULSE_RETENTION_INTERVAL_S",),
        ("exporters", "postgres", "retention_interval_s"),
        _int_range(60, 7 * 86400),
        "how often the retention job runs",
    ),
    _Spec(
        "prices_file",
        ("PULSE_PRICES_FILE",),
        ("processors", "genai", "prices_file"),
        _optional_path,
        "YAML list of custom model prices (USD per million tokens) for unknown models",
    ),
    _Spec(
        "keep_generic_spans",
        ("PULSE_KEEP_GENERIC_SPANS",),
        ("processors", "genai", "keep_generic_spans"),
        _parse_bool,
        "keep OTLP spans that are neither LLM calls nor agent activity",
    ),
    _Spec(
        "session_lifetime_s",
        ("PULSE_SESSION_LIFETIME_S",),
        ("extensions", "pulse", "auth", "session_lifetime_s"),
        _int_range(60, 90 * 24 * 3600),
        "dashboard sign-in session lifetime (seconds)",
    ),
    _Spec(
        "signin_ip_limit",
        ("PULSE_SIGNIN_IP_LIMIT",),
        ("extensions", "pulse", "auth", "signin_ip_limit"),
        _int_range(1, 100_000),
        "sign-in attempts per client address per minute (429 beyond)",
    ),
    _Spec(
        "signin_account_limit",
        ("PULSE_SIGNIN_ACCOUNT_LIMIT",),
        ("extensions", "pulse", "auth", "signin_account_limit"),
        _int_range(1, 100_000),
        "failed sign-ins per account per 15 minutes (429 beyond)",
    ),
    _Spec(
        "allow_signup",
        ("PULSE_ALLOW_SIGNUP",),
        ("extensions", "pulse", "auth", "allow_signup"),
        _parse_bool,
        "allow POST /dashboard/api/signup (new users and projects)",
    ),
    _Spec(
        "trusted_origins",
        ("PULSE_TRUSTED_ORIGINS",),
        ("extensions", "pulse", "auth", "trusted_origins"),
        _origins,
        "extra origins allowed to make cookie-authenticated changes (comma-separated)",
    ),

    # ingest pipeline and roles (restored: a concurrent rewrite of this file had dropped them;
    # tests/test_config.py now checks that every Settings field can be set)
    _Spec(
        "role",
        ("PULSE_ROLE",),
        ("service", "role"),
        _choice("all", "api", "ingest"),
        "all: one process does everything; api: query API only; ingest: receivers + writer",
    ),
    _Spec(
        "queue_max_bytes",
        ("PULSE_QUEUE_MAX_BYTES",),
        ("exporters", "postgres", "sending_queue", "max_bytes"),
        _int_range(MiB, 1024 * 1024 * MiB),
        "bound of the durable ingest queue on disk; when full, ingest answers 503",
    ),
    _Spec(
        "writer_batch_entries",
        ("PULSE_WRITER_BATCH_ENTRIES",),
        ("processors", "batch", "send_batch_size"),
        _int_range(1, 100_000),
        "queue entries (ingest requests) written per database transaction, at most",
    ),
    _Spec(
        "writer_linger_ms",
        ("PULSE_WRITER_LINGER_MS",),
        ("processors", "batch", "timeout_ms"),
        _int_range(0, 10_000),
        "how long the writer waits for more entries to fill a batch",
    ),
    _Spec(
        "shutdown_timeout_s",
        ("PULSE_SHUTDOWN_TIMEOUT_S",),
        ("service", "shutdown_timeout_s"),
        _int_range(0, 3600),
        "on shutdown, drain the queue for at most this long",
    ),
    _Spec(
        "mapping_workers",
        ("PULSE_MAPPING_WORKERS",),
        ("processors", "genai", "workers"),
        _int_range(-1, 64),
        "processes that map OTLP exports; -1: one per CPU core but one (at most 4); 0: none",
    ),
    _Spec(
        "max_inflight_bytes",
        ("PULSE_MAX_INFLIGHT_BYTES",),
        ("receivers", "otlp", "protocols", "http", "max_inflight_bytes"),
        _int_range(MiB, 64 * 1024 * MiB),
        "request bodies processed at once, at most; beyond it new requests get 503",
    ),
)

# endpoints are "host:port" strings, split into two settings each
_ENDPOINTS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("http", ("PULSE_HTTP_ENDPOINT",), ("receivers", "otlp", "protocols", "http", "endpoint")),
    ("grpc", ("PULSE_GRPC_ENDPOINT",), ("receivers", "otlp", "protocols", "grpc", "endpoint")),
)

_ENV_REF = re.compile(r"\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand_env(value: Any, env: Mapping[str, str]) -> Any:
    """Collector-style ``${env:NAME}`` / ``${NAME}`` / ``${NAME:-default}`` references in YAML."""
    if isinstance(value, str):
        return _ENV_REF.sub(lambda m: env.get(m.group(1), m.group(2) or ""), value)
    if isinstance(value, dict):
        return {k: _expand_env(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, env) for v in value]
    return value


def _dig(tree: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return False, None
        tree = tree[key]
    return True, tree


def _split_endpoint(where: str, value: Any) -> tuple[str, int]:
    text = str(value).strip()
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"Invalid setting {where}: {text!r} must be host:port (port 0-65535)")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104


def load_yaml(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"Cannot read config file {path}: {exc}") from exc
    if not isinstance(tree, dict):
        raise ConfigError(f"Config file {path} must hold a mapping at the top level")
    return _expand_env(tree, env)


def load_settings(
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build Settings: defaults < YAML file < environment < explicit overrides (CLI flags).

    ``config_file`` None means ``$PULSE_CONFIG`` or ``./otel-config.yaml`` when present.
    """
    env = dict(os.environ if env is None else env)
    if config_file is None:
        named = env.get("PULSE_CONFIG")
        candidate = Path(named) if named else Path(DEFAULT_CONFIG_FILE)
        if named and not candidate.is_file():
            raise ConfigError(f"Invalid setting PULSE_CONFIG: no such file {candidate}")
        config_file = candidate if candidate.is_file() else None
    tree = load_yaml(config_file, env) if config_file else {}
    values: dict[str, Any] = {}
    for spec in _SPECS:
        found, raw, where = _lookup(spec.env, spec.yaml_path, tree, env)
        if found:
            try:
                values[spec.name] = spec.parse(raw)
            except ValueError as exc:
                raise ConfigError(f"Invalid setting {where}: {raw!r} {exc}") from exc
    for prefix, env_names, yaml_path in _ENDPOINTS:
        found, raw, where = _lookup(env_names, yaml_path, tree, env)
        if found:
            values[f"{prefix}_host"], values[f"{prefix}_port"] = _split_endpoint(where, raw)
    settings = replace(Settings(), **values)
    if overrides:
        known = {f.name for f in fields(Settings)}
        settings = replace(settings, **{k: v for k, v in overrides.items() if k in known})
    return settings


def _lookup(
    env_names: tuple[str, ...],
    yaml_path: tuple[str, ...],
    tree: dict[str, Any],
    env: Mapping[str, str],
) -> tuple[bool, Any, str]:
    for name in env_names:
        if name in env:
            return True, env[name], name
    found, raw = _dig(tree, yaml_path)
    return found, raw, ".".join(yaml_path)


def settings_table() -> list[tuple[str, str, str, str]]:
    """(environment variable, YAML key, default, meaning) rows, for the README and `--help`."""
    defaults = Settings()
    rows = [
        (" / ".join(s.env), ".".join(s.yaml_path), str(getattr(defaults, s.name)), s.help)
        for s in _SPECS
    ]
    for prefix, env_names, yaml_path in _ENDPOINTS:
        default = f"{getattr(defaults, prefix + '_host')}:{getattr(defaults, prefix + '_port')}"
        rows.append((env_names[0], ".".join(yaml_path), default, f"{prefix} listen address"))
    return rows
