"""Settings: defaults < otel-config.yaml < environment, and errors that name the setting."""

import re
from dataclasses import fields
from pathlib import Path

import pytest

from pulse.config import GROUPS, Settings, load_settings, options, settings_table
from pulse.errors import ConfigError
from tests import config_doc

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "otel-config.yaml"
    path.write_text(text)
    return path


def test_defaults_without_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./otel-config.yaml here
    s = load_settings(env={})
    assert s == Settings()
    assert (s.http_port, s.grpc_port, s.embedded) == (4318, 4317, True)


def test_shipped_config_file_is_valid_and_matches_defaults():
    s = load_settings(env={}, config_file=ROOT / "otel-config.yaml")
    assert s == Settings()


def test_yaml_overrides_defaults_and_env_overrides_yaml(tmp_path):
    path = write(
        tmp_path,
        """
receivers: {otlp: {protocols: {http: {endpoint: "127.0.0.1:9000"}}}}
exporters: {postgres: {endpoint: "postgresql://a@h/db1", pool_size: 7, timescaledb: "off"}}
""",
    )
    s = load_settings(env={}, config_file=path)
    assert (s.http_host, s.http_port) == ("127.0.0.1", 9000)
    assert (s.database_url, s.db_pool_size, s.timescaledb) == ("postgresql://a@h/db1", 7, "off")
    s = load_settings(
        env={"DATABASE_URL": "postgresql://b@h/db2", "PULSE_DB_POOL_SIZE": "3"}, config_file=path
    )
    assert (s.database_url, s.db_pool_size, s.http_port) == ("postgresql://b@h/db2", 3, 9000)


def test_env_references_in_yaml_are_expanded(tmp_path):
    path = write(tmp_path, 'exporters: {postgres: {endpoint: "${env:MY_DB:-}"}}\n')
    assert load_settings(env={}, config_file=path).database_url is None
    s = load_settings(env={"MY_DB": "postgres://u@h/x"}, config_file=path)
    assert s.database_url == "postgres://u@h/x"


def test_pulse_config_env_names_the_file(tmp_path):
    path = write(tmp_path, "service: {telemetry: {logs: {level: debug}}}\n")
    assert load_settings(env={"PULSE_CONFIG": str(path)}).log_level == "debug"
    with pytest.raises(ConfigError, match="PULSE_CONFIG"):
        load_settings(env={"PULSE_CONFIG": str(tmp_path / "missing.yaml")})


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PULSE_DB_POOL_SIZE": "lots"}, "PULSE_DB_POOL_SIZE"),
        ({"PULSE_DB_POOL_SIZE": "1"}, "PULSE_DB_POOL_SIZE"),
        ({"PULSE_TIMESCALEDB": "maybe"}, "PULSE_TIMESCALEDB"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"PULSE_HTTP_ENDPOINT": "nohost"}, "PULSE_HTTP_ENDPOINT"),
        ({"PULSE_GRPC_ENDPOINT": "0.0.0.0:99999"}, "PULSE_GRPC_ENDPOINT"),
        ({"PULSE_GRPC_ENABLED": "perhaps"}, "PULSE_GRPC_ENABLED"),
        ({"PULSE_LOG_LEVEL": "loud"}, "PULSE_LOG_LEVEL"),
        ({"PULSE_MAX_REQUEST_BODY_BYTES": "10"}, "PULSE_MAX_REQUEST_BODY_BYTES"),
    ],
)
def test_invalid_env_values_name_the_setting(env, named, tmp_path):
    with pytest.raises(ConfigError) as info:
        load_settings(env=env, config_file=write(tmp_path, "{}\n"))
    assert named in info.value.message


def test_invalid_yaml_value_names_the_yaml_key(tmp_path):
    path = write(tmp_path, "exporters: {postgres: {pool_size: -4}}\n")
    with pytest.raises(ConfigError, match=r"exporters\.postgres\.pool_size"):
        load_settings(env={}, config_file=path)


def test_broken_yaml_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="Cannot read config file"):
        load_settings(env={}, config_file=write(tmp_path, "receivers: [unclosed\n"))
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(env={}, config_file=write(tmp_path, "- a list\n"))


def test_settings_table_documents_every_env_var():
    names = " ".join(row[0] for row in settings_table())
    for env in ("DATABASE_URL", "PULSE_DATA_DIR", "PULSE_HTTP_ENDPOINT", "PULSE_TIMESCALEDB"):
        assert env in names


def test_every_settings_field_is_declared_with_its_option():
    """A Settings field without an Option would silently ignore its documented variable."""
    declared = dict(options())
    for f in fields(Settings):
        if "part_of" in f.metadata:  # the port of an endpoint: set by its host's option
            assert f.name in declared[f.metadata["part_of"]].sets, f.name
        else:
            assert f.name in declared, f"{f.name} has no Option"
    envs = [env for _, o in options() for env in o.env]
    keys = [o.yaml for _, o in options()]
    assert len(set(envs)) == len(envs) and len(set(keys)) == len(keys)


def test_settings_are_declared_grouped_by_component():
    groups = [o.group for _, o in options()]
    assert set(groups) <= set(GROUPS), set(groups) - set(GROUPS)
    seen = list(dict.fromkeys(groups))  # first-appearance order
    assert seen == [g for g in GROUPS if g in seen], "groups out of otel-config.yaml order"
    assert groups == sorted(groups, key=seen.index), "a component's settings are not together"


def test_readme_settings_tables_are_generated_from_the_declarations():
    section = config_doc.readme_section((ROOT / "README.md").read_text())
    assert section is not None, "README.md lost its settings markers"
    assert section == config_doc.build(), (
        "README.md's settings tables are stale: run python -m tests.config_doc --write")
    for _, option in options():
        assert f"`{option.env[0]}`" in section and f"`{option.yaml}`" in section


def _key_line(lines: list[str], path: list[str]) -> int | None:
    """The line of a dotted key in otel-config.yaml (active or commented out), or None."""
    at, parent_indent = 0, -1
    for depth, key in enumerate(path):
        pattern = re.compile(rf"^(\s*)(#\s*)?{re.escape(key)}:")
        for i in range(at, len(lines)):
            text = lines[i]
            indent = len(text) - len(text.lstrip())
            if text.strip() and not text.lstrip().startswith("#") and indent <= parent_indent:
                return None  # left the parent's block
            match = pattern.match(text)
            if match and indent > parent_indent and (depth == len(path) - 1 or not match[2]):
                at, parent_indent = i + 1, indent
                break
        else:
            return None
    return at - 1


def test_otel_config_yaml_documents_every_setting():
    """Every setting has its key in the shipped file (commented out when it has no useful
    default) and its environment variable named in the comment just above the key."""
    lines = (ROOT / "otel-config.yaml").read_text().splitlines()
    for name, option in options():
        line = _key_line(lines, option.yaml.split("."))
        assert line is not None, f"otel-config.yaml lacks {option.yaml} ({name})"
        above = []
        for text in reversed(lines[:line]):
            if not text.lstrip().startswith("#"):
                break
            above.append(text)
        comment = " ".join(above)
        assert any(env in comment for env in option.env), (
            f"otel-config.yaml: the comment above {option.yaml} does not name {option.env[0]}")


@pytest.mark.parametrize(
    ("env", "field", "value"),
    [
        ({"PULSE_ROLE": "ingest"}, "role", "ingest"),
        ({"PULSE_QUEUE_MAX_BYTES": str(2 * 1024 * 1024)}, "queue_max_bytes", 2 * 1024 * 1024),
        ({"PULSE_WRITER_BATCH_ENTRIES": "7"}, "writer_batch_entries", 7),
        ({"PULSE_WRITER_LINGER_MS": "0"}, "writer_linger_ms", 0),
        ({"PULSE_SHUTDOWN_TIMEOUT_S": "3"}, "shutdown_timeout_s", 3),
        ({"PULSE_MAPPING_WORKERS": "0"}, "mapping_workers", 0),
        ({"PULSE_MAX_INFLIGHT_BYTES": str(8 * 1024 * 1024)}, "max_inflight_bytes", 8 * 1024 * 1024),
    ],
)
def test_pipeline_settings_come_from_the_environment(env, field, value, tmp_path):
    settings = load_settings(env=env, config_file=write(tmp_path, "{}\n"))
    assert getattr(settings, field) == value
