"""One Settings object for the whole service: built-in defaults, overridden by ``otel-config.yaml``,
overridden by environment variables. Built once at start-up by ``main``/``cli`` and passed down as
plain values; nothing deeper reads the environment.

Every setting is declared once, as a field of :class:`Settings` whose metadata (an
:class:`Option`) names its environment variable(s), its key in ``otel-config.yaml``, how its text
is parsed and validated, and what it means. The fields are grouped by component in the
OpenTelemetry Collector's vocabulary, as in the YAML file: receivers, processors (the ingest
pipeline), exporters (the database), extensions (data directory, accounts), service. The README's
settings table is generated from these declarations (``python -m tests.config_doc --write``; a
test fails when it drifts), and a test checks that ``otel-config.yaml`` documents every one.

An invalid value stops start-up with a :class:`ConfigError` naming the setting and where the
value came from.

This module imports nothing from the project but ``errors``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs
import yaml

from pulse.errors import ConfigError
from pulse.setting_values import (
    addresses as _addresses,
)
from pulse.setting_values import (
    aliases as _aliases,
)
from pulse.setting_values import (
    choice as _choice,
)
from pulse.setting_values import (
    endpoint as _endpoint,
)
from pulse.setting_values import (
    int_range as _int_range,
)
from pulse.setting_values import (
    nats_urls as _nats_urls,
)
from pulse.setting_values import (
    optional_path as _optional_path,
)
from pulse.setting_values import (
    optional_url as _optional_url,
)
from pulse.setting_values import (
    origins as _origins,
)
from pulse.setting_values import (
    parse_bool as _parse_bool,
)
from pulse.setting_values import (
    path as _path,
)
from pulse.setting_values import (
    stream_name as _stream_name,
)

DEFAULT_CONFIG_FILE = "otel-config.yaml"
MiB = 1024 * 1024

# The components settings are grouped by: the top-level keys of otel-config.yaml, in its order.
GROUPS: dict[str, str] = {
    "receivers": "Receivers: listen addresses and request limits",
    "processors": "Processors: the ingest pipeline (mapping, prices, batching)",
    "exporters": "Exporters: the database, retention and the durable ingest queue",
    "extensions": "Extensions: data directory, default project, dashboard accounts",
    "service": "Service: role, shutdown, logs",
}


@dataclass(frozen=True, slots=True)
class Option:
    """How one setting is read and documented (the metadata of a :class:`Settings` field)."""

    env: tuple[str, ...]  # environment variables, the first found wins
    yaml: str  # dotted key in otel-config.yaml; its first part is the component (GROUPS)
    parse: Callable[[Any], Any]  # text or YAML value -> value; ValueError says what is wrong
    help: str  # one line for the README table (Markdown)
    sets: tuple[str, ...] = ()  # fields set from parse's tuple (host:port); default: this field
    shown: str | None = None  # the default as documented, when str(default) would mislead

    @property
    def group(self) -> str:
        return self.yaml.split(".", 1)[0]


def _setting(
    default: Any,
    env: str | tuple[str, ...],
    yaml_key: str,
    parse: Callable[[Any], Any],
    help: str,
    **extra: Any,
) -> Any:
    names = (env,) if isinstance(env, str) else env
    option = Option(names, yaml_key, parse, help, **extra)
    return field(default=default, metadata={"option": option})


def _part_of(default: Any, owner: str) -> Any:
    """A field set together with ``owner`` (the port of an endpoint)."""
    return field(default=default, metadata={"part_of": owner})


_HTTP = "receivers.otlp.protocols.http."
_GRPC = "receivers.otlp.protocols.grpc."
_PG = "exporters.postgres."
_NATS = "exporters.postgres.sending_queue.nats."
_AUTH = "extensions.pulse.auth."


@dataclass(frozen=True, slots=True)
class Settings:
    # --- receivers -------------------------------------------------------------------------
    grpc_host: str = _setting(
        "0.0.0.0", "PULSE_GRPC_ENDPOINT", _GRPC + "endpoint", _endpoint,  # noqa: S104
        "OTLP gRPC listen address", sets=("grpc_host", "grpc_port"))
    grpc_port: int = _part_of(4317, "grpc_host")
    grpc_enabled: bool = _setting(
        True, "PULSE_GRPC_ENABLED", _GRPC + "enabled", _parse_bool, "serve OTLP gRPC")
    grpc_max_recv_msg_size_mib: int = _setting(
        64, "PULSE_GRPC_MAX_RECV_MSG_SIZE_MIB", _GRPC + "max_recv_msg_size_mib",
        _int_range(4, 1024), "largest gRPC message accepted (MiB)")
    http_host: str = _setting(
        "0.0.0.0", "PULSE_HTTP_ENDPOINT", _HTTP + "endpoint", _endpoint,  # noqa: S104
        "HTTP listen address (REST API, OTLP/HTTP, dashboard)", sets=("http_host", "http_port"))
    http_port: int = _part_of(4318, "http_host")
    max_request_body_bytes: int = _setting(
        20 * MiB, "PULSE_MAX_REQUEST_BODY_BYTES", _HTTP + "max_request_body_size",
        _int_range(1024, 1024 * MiB), "larger HTTP bodies get 413")
    max_decompressed_bytes: int = _setting(
        64 * MiB, "PULSE_MAX_DECOMPRESSED_BYTES", _HTTP + "max_decompressed_size",
        _int_range(1024, 4096 * MiB), "bound on a gzip/deflate body once inflated (413 beyond)")
    max_inflight_bytes: int = _setting(
        256 * MiB, "PULSE_MAX_INFLIGHT_BYTES", _HTTP + "max_inflight_bytes",
        _int_range(MiB, 64 * 1024 * MiB),
        "request bodies processed at once, at most; beyond it new requests get 503 + Retry-After")
    http_body_timeout_s: int = _setting(
        30, "PULSE_HTTP_BODY_TIMEOUT_S", _HTTP + "read_timeout_s", _int_range(1, 3600),
        "a request body must arrive within this many seconds (408 otherwise)")
    http_idle_timeout_s: int = _setting(
        5, "PULSE_HTTP_IDLE_TIMEOUT_S", _HTTP + "idle_timeout_s", _int_range(1, 3600),
        "an idle keep-alive connection is closed after this many seconds")
    http_max_connections: int = _setting(
        1000, "PULSE_HTTP_MAX_CONNECTIONS", _HTTP + "max_connections", _int_range(8, 1_000_000),
        "open connections plus requests in progress, at most; beyond it requests get an "
        "immediate 503 (the open-file limit is raised to fit at start-up)")
    # --- processors: the ingest pipeline ---------------------------------------------------
    writer_batch_entries: int = _setting(
        500, "PULSE_WRITER_BATCH_ENTRIES", "processors.batch.send_batch_size",
        _int_range(1, 100_000),
        "queue entries (ingest requests) written per database transaction, at most")
    writer_linger_ms: int = _setting(
        50, "PULSE_WRITER_LINGER_MS", "processors.batch.timeout_ms", _int_range(0, 10_000),
        "how long the writer waits for more entries to fill a batch")
    writer_max_attempts: int = _setting(
        5, "PULSE_WRITER_MAX_ATTEMPTS", "processors.batch.max_attempts", _int_range(1, 1000),
        "failed writes of one batch, while the database answers, before it is bisected and "
        "what still fails is dead-lettered")
    writer_stall_s: int = _setting(
        60, "PULSE_WRITER_STALL_S", "processors.batch.stall_s", _int_range(1, 86_400),
        "seconds without a commit while entries are queued before `/health/ready` says 503")
    mapping_workers: int = _setting(
        -1, "PULSE_MAPPING_WORKERS", "processors.genai.workers", _int_range(-1, 64),
        "processes that map OTLP exports; `-1`: one per CPU core but one (at most 4); "
        "`0`: map on the event loop")
    model_aliases: tuple[tuple[str, str], ...] = _setting(
        (), "PULSE_MODEL_ALIASES", "processors.genai.model_aliases", _aliases,
        "deployment names priced as a known model (Azure): "
        "`my-gpt4o-deployment=gpt-4o,...` (YAML: a mapping)", shown="(none)")
    prices_file: Path | None = _setting(
        None, "PULSE_PRICES_FILE", "processors.genai.prices_file", _optional_path,
        "YAML file of prices (USD per million tokens) for models genai-prices does not know")
    keep_generic_spans: bool = _setting(
        False, "PULSE_KEEP_GENERIC_SPANS", "processors.genai.keep_generic_spans", _parse_bool,
        "(OTLP) keep spans that are neither LLM calls nor agent activity")
    # --- exporters: the database -----------------------------------------------------------
    database_url: str | None = _setting(
        None, ("DATABASE_URL", "PULSE_DATABASE_URL"), _PG + "endpoint", _optional_url,
        "PostgreSQL URL; empty runs the embedded PostgreSQL in the data dir", shown="(empty)")
    timescaledb: str = _setting(
        "auto", "PULSE_TIMESCALEDB", _PG + "timescaledb", _choice("auto", "require", "off"),
        "`auto`: hypertables when the extension is available; `require`: refuse to start "
        "without it; `off`")
    db_pool_size: int = _setting(
        10, "PULSE_DB_POOL_SIZE", _PG + "pool_size", _int_range(2, 200),
        "maximum database connections")
    retention_days: int = _setting(
        0, "PULSE_RETENTION_DAYS", _PG + "retention_days", _int_range(0, 36500),
        "delete traces, spans and metric points older than this many days (0: keep forever)")
    retention_interval_s: int = _setting(
        3600, "PULSE_RETENTION_INTERVAL_S", _PG + "retention_interval_s",
        _int_range(60, 7 * 86400), "how often retention runs (seconds)")
    queue_max_bytes: int = _setting(
        1024 * MiB, "PULSE_QUEUE_MAX_BYTES", _PG + "sending_queue.max_bytes",
        _int_range(MiB, 1024 * 1024 * MiB),
        "bound of the durable ingest queue on disk; when full, ingest answers 503")
    read_database_url: str | None = _setting(
        None, "PULSE_READ_DATABASE_URL", _PG + "read_endpoint", _optional_url,
        "PostgreSQL URL of a read replica for the query routes and the dashboard (empty: the "
        "primary)", shown="(empty)")
    queue_backend: str = _setting(
        "file", "PULSE_QUEUE_BACKEND", _PG + "sending_queue.backend", _choice("file", "nats"),
        "`file`: the durable queue on local disk; `nats`: a shared NATS JetStream stream "
        "(docs/architecture.md#deployment)")
    nats_url: str = _setting(
        "nats://127.0.0.1:4222", "PULSE_NATS_URL", _NATS + "url", _nats_urls,
        "NATS server(s) for `nats` (comma-separated `nats://host:port`)")
    nats_stream: str = _setting(
        "PULSE_INGEST", "PULSE_NATS_STREAM", _NATS + "stream", _stream_name,
        "JetStream stream name (its subject is `<name>.entries`)")
    nats_replicas: int = _setting(
        1, "PULSE_NATS_REPLICAS", _NATS + "replicas", _int_range(1, 5),
        "stream replicas (3 on a 3-node JetStream cluster)")
    nats_max_bytes: int = _setting(
        1024 * MiB, "PULSE_NATS_MAX_BYTES", _NATS + "max_bytes", _int_range(MiB, 1 << 50),
        "bound of the stream; when full, ingest answers 503")
    nats_max_age_s: int = _setting(
        0, "PULSE_NATS_MAX_AGE_S", _NATS + "max_age_s", _int_range(0, 365 * 86400),
        "drop entries older than this, written or not (0: never; a non-zero age can lose data)")
    nats_ack_wait_s: int = _setting(
        30, "PULSE_NATS_ACK_WAIT_S", _NATS + "ack_wait_s", _int_range(1, 3600),
        "entries a crashed writer held are redelivered after this many seconds")
    # --- extensions: data directory, default project, dashboard accounts --------------------
    data_dir: Path = _setting(
        Path(platformdirs.user_data_dir("pulse-bridge")), "PULSE_DATA_DIR",
        "extensions.file_storage.directory", _path,
        "where the embedded database and the ingest queue live",
        shown="~/.local/share/pulse-bridge")
    create_default_project: bool = _setting(
        True, "PULSE_CREATE_DEFAULT_PROJECT", "extensions.pulse.create_default_project",
        _parse_bool, "create `Default` and print its key when the database has no project")
    session_lifetime_s: int = _setting(
        7 * 24 * 3600, "PULSE_SESSION_LIFETIME_S", _AUTH + "session_lifetime_s",
        _int_range(60, 90 * 24 * 3600), "dashboard session lifetime (seconds; 7 days)")
    signin_ip_limit: int = _setting(
        20, "PULSE_SIGNIN_IP_LIMIT", _AUTH + "signin_ip_limit", _int_range(1, 100_000),
        "sign-in attempts per client address per minute (429 beyond)")
    signin_account_limit: int = _setting(
        10, "PULSE_SIGNIN_ACCOUNT_LIMIT", _AUTH + "signin_account_limit",
        _int_range(1, 100_000), "failed sign-ins per account per 15 minutes (429 beyond)")
    trusted_proxies: tuple[str, ...] = _setting(
        (), "PULSE_TRUSTED_PROXIES", _AUTH + "trusted_proxies", _addresses,
        "addresses or networks of reverse proxies whose `X-Forwarded-For`/`-Proto` are believed "
        "(comma-separated); empty: forwarded headers are ignored, the client is the peer")
    signup: str = _setting(
        "first_account", "PULSE_SIGNUP", _AUTH + "signup",
        _choice("first_account", "open", "closed"),
        "who may sign up (the sign-up page and `POST /dashboard/api/signup`): `first_account` "
        "(until the server has its first account, then closed), `open` or `closed`")
    trusted_origins: tuple[str, ...] = _setting(
        (), "PULSE_TRUSTED_ORIGINS", _AUTH + "trusted_origins", _origins,
        "extra origins allowed to make cookie-authenticated changes (comma-separated), "
        "e.g. a dashboard on another host")
    # --- service ---------------------------------------------------------------------------
    role: str = _setting(
        "all", "PULSE_ROLE", "service.role", _choice("all", "api", "ingest", "writer"),
        "`all`, `api` (query API only), `ingest` (receivers; with the `file` queue also the "
        "writer) or `writer` (the writer loop only, `nats`)")
    shutdown_timeout_s: int = _setting(
        10, "PULSE_SHUTDOWN_TIMEOUT_S", "service.shutdown_timeout_s", _int_range(0, 3600),
        "on shutdown, drain the queue for at most this long (seconds)")
    log_level: str = _setting(
        "info", "PULSE_LOG_LEVEL", "service.telemetry.logs.level",
        _choice("debug", "info", "warning", "error"), "`debug`, `info`, `warning`, `error`")

    @property
    def mapping_worker_count(self) -> int:
        """Worker processes that map OTLP exports (0: map on the event loop)."""
        if self.mapping_workers >= 0:
            return self.mapping_workers
        return max(0, min(4, (os.cpu_count() or 1) - 1))

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


def options() -> Iterator[tuple[str, Option]]:
    """``(field name, Option)`` of every setting, in declaration (component) order."""
    for f in fields(Settings):
        if "option" in f.metadata:
            yield f.name, f.metadata["option"]


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
    for name, option in options():
        found, raw, where = _lookup(option, tree, env)
        if not found:
            continue
        try:
            parsed = option.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"Invalid setting {where}: {raw!r} {exc}") from exc
        values.update(zip(option.sets, parsed, strict=True) if option.sets else {name: parsed})
    settings = replace(Settings(), **values)
    if overrides:
        known = {f.name for f in fields(Settings)}
        settings = replace(settings, **{k: v for k, v in overrides.items() if k in known})
    return settings


def _lookup(option: Option, tree: dict[str, Any], env: Mapping[str, str]) -> tuple[bool, Any, str]:
    for name in option.env:
        if name in env:
            return True, env[name], name
    found, raw = _dig(tree, tuple(option.yaml.split(".")))
    return found, raw, option.yaml


def _shown(option: Option, name: str, defaults: Settings) -> str:
    if option.shown is not None:
        return option.shown
    value = [getattr(defaults, f) for f in option.sets or (name,)]
    text = ":".join("true" if v is True else "false" if v is False else str(v) for v in value)
    return "(none)" if value in ([None], [()]) else text


def settings_table() -> list[tuple[str, str, str, str]]:
    """(environment variable(s), YAML key, default, meaning) rows, in component order: for the
    README (tests/config_doc.py) and ``--help``."""
    defaults = Settings()
    return [(" / ".join(o.env), o.yaml, _shown(o, name, defaults), o.help)
            for name, o in options()]
