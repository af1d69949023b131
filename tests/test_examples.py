"""The client set-ups we hand out agree with what the project runs and tests (issue 16): the package
pins in examples/python_app.py and the README equal pyproject.toml's, and the example settings
for every client point at this server's default ports. Installs nothing."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pulse.config import Settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
README = (ROOT / "README.md").read_text(encoding="utf-8")
# what the GenAI instrumentation needs together; util-genai is the one that broke it
MUST_PIN = {"openai", "opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http",
            "opentelemetry-instrumentation-openai-v2", "opentelemetry-util-genai"}


def project_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for line in project["dependencies"] + project["optional-dependencies"]["dev"]:
        m = re.fullmatch(r"([A-Za-z0-9._-]+)(\[[^\]]*\])?==([A-Za-z0-9.]+)", line.strip())
        assert m, f"pyproject.toml pins every dependency exactly: {line}"
        pins[m.group(1).lower()] = m.group(3)
    return pins


def install_pins(text: str) -> dict[str, str]:
    """``name==version`` pairs of the ``pip install`` command in ``text`` (continued lines)."""
    command = re.search(r"pip install ((?:[^\n]*\\\n)*[^\n]*)", text)
    assert command, "no pip install line"
    words = command.group(1).replace("\\\n", " ").split()
    assert all("==" in w for w in words), f"unpinned package in: {words}"
    return {name.lower(): version for name, version in (w.split("==") for w in words)}


def readme_block(marker: str) -> str:
    """The first fenced block after ``marker``, without its language tag."""
    after = README.split(marker, 1)[1]
    return after.split("```", 2)[1].split("\n", 1)[1]


def test_python_example_pins_equal_pyproject():
    pins = install_pins((EXAMPLES / "python_app.py").read_text())
    assert set(pins) >= MUST_PIN
    expected = project_pins()
    assert {name: expected.get(name) for name in pins} == pins


def test_readme_otel_python_pins_equal_the_example():
    pins = install_pins(readme_block("<!-- otel-python-pins"))
    assert pins == install_pins((EXAMPLES / "python_app.py").read_text())


def env_file(name: str) -> dict[str, str]:
    values = {}
    for line in (EXAMPLES / name).read_text().splitlines():
        m = re.match(r'export (\w+)=("?)([^"#]*?)\2\s*(#.*)?$', line.strip())
        if m:
            values[m.group(1)] = m.group(3)
    return values


def test_env_examples_point_at_the_default_http_port():
    port = Settings().http_port
    for name in ("python-app.env", "claude-code.env"):
        env = env_file(name)
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://localhost:{port}", name
        assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf", name
        assert re.fullmatch(r"(?i)authorization=Bearer pulse_sk_\w+",
                            env["OTEL_EXPORTER_OTLP_HEADERS"]), name


def test_codex_example_parses_and_points_at_the_logs_route():
    for text in ((EXAMPLES / "codex.toml").read_text(), readme_block("### OpenAI Codex CLI")):
        exporter = tomllib.loads(text)["otel"]["exporter"]["otlp-http"]
        assert exporter["endpoint"] == f"http://localhost:{Settings().http_port}/v1/logs"
        assert exporter["protocol"] in ("binary", "json")
        assert exporter["headers"]["authorization"].startswith("Bearer pulse_sk_")


def test_readme_sdk_and_cli_snippets_use_this_server():
    """The Pulse SDK and CLI default to port 3000: the README must override it everywhere."""
    sdk = readme_block("### Pulse Python SDK")
    assert f'"api_url": "http://localhost:{Settings().http_port}"' in sdk
    cli = README.split("### Pulse CLI", 1)[1].split("### OpenTelemetry Python", 1)[0]
    assert cli.count("--api-url http://localhost:4318") == 2
    assert ":3000" not in sdk + readme_block("### Pulse CLI")
