"""The capture scenarios: which real client runs, with which settings.

Each scenario names its output folder under tests/data/otlp/captures/. ``env``
values may use {fake} (fake model base URL), {otlp} (receiver endpoint),
{home} and {work} (scratch HOME and cwd). Interpreters come from the venvs
that setup_envs.sh builds (override with CAPTURE_PY_<NAME>).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BIN = HERE / "node_modules" / ".bin"


def py(venv: str) -> str:
    return os.environ.get(f"CAPTURE_PY_{venv.strip('.').replace('-', '_').upper()}",
                          str(REPO / venv / "bin" / "python"))


@dataclass
class Scenario:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[Path, dict], None] | None = None
    settle: float = 3.0
    timeout: float = 180.0


LEGACY = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}
EVENT_ONLY = {"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
              "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "event_only"}
OPENAI_CHAT = "{here}/clients/openai_chat.py"
ANTHROPIC = "{here}/clients/anthropic_sdk.py"


def _openai_v2(name: str, venv: str, mode: dict, processor: str) -> Scenario:
    return Scenario(name, [py(venv), OPENAI_CHAT], mode | {"CAPTURE_SPAN_PROCESSOR": processor})


def _claude_prepare(tmp: Path, env: dict) -> None:
    """Auto-approve `Bash(echo hi)` and skip first-run prompts in the scratch HOME."""
    claude = tmp / "home" / ".claude"
    claude.mkdir(parents=True)
    (claude / "settings.json").write_text(json.dumps(
        {"permissions": {"allow": ["Bash(echo hi)"]}}))
    (tmp / "home" / ".claude.json").write_text(json.dumps(
        {"hasCompletedOnboarding": True, "bypassPermissionsModeAccepted": True}))


CLAUDE_ENV = {
    "ANTHROPIC_BASE_URL": "{fake}", "ANTHROPIC_API_KEY": "sk-ant-api03-capture-fake-key",
    "CLAUDE_CODE_ENABLE_TELEMETRY": "1", "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA": "1",
    "OTEL_LOGS_EXPORTER": "otlp", "OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp",
    "OTEL_LOG_USER_PROMPTS": "1", "OTEL_LOG_TOOL_DETAILS": "1", "OTEL_LOG_TOOL_CONTENT": "1",
    "OTEL_LOG_ASSISTANT_RESPONSES": "1", "OTEL_LOG_RAW_API_BODIES": "1",
    "DISABLE_AUTOUPDATER": "1",
}


def _codex_prepare(tmp: Path, env: dict, traces: bool = True) -> None:
    """config.toml: a custom Responses-API provider at the fake server, [otel] to the receiver."""
    codex = tmp / "home" / ".codex"
    codex.mkdir(parents=True)
    otlp = env["OTEL_EXPORTER_OTLP_ENDPOINT"]
    (codex / "config.toml").write_text(f"""
model = "gpt-5-codex"
model_provider = "fake"
approval_policy = "never"
sandbox_mode = "danger-full-access"

[model_providers.fake]
name = "fake"
base_url = "{env['FAKE_BASE_URL']}/v1"
env_key = "FAKE_OPENAI_KEY"
wire_api = "responses"

[otel]
environment = "capture"
log_user_prompt = true
exporter = {{ otlp-http = {{ endpoint = "{otlp}/v1/logs", protocol = "binary" }} }}
""" + (TRACE_EXPORTER.replace("OTLP", otlp) if traces else ""))


TRACE_EXPORTER = ('trace_exporter = { otlp-http = '
                  '{ endpoint = "OTLP/v1/traces", protocol = "binary" } }\n')


CLAUDE_PROMPT = "Run `echo hi` with the Bash tool, then tell me what it printed."
CODEX_ARGV = [str(BIN / "codex"), "exec", "--skip-git-repo-check",
              "Run `echo hi` in the shell and tell me what it printed."]
CODEX_ENV = {"FAKE_OPENAI_KEY": "sk-capture-fake", "CODEX_HOME": "{home}/.codex"}

SCENARIOS = {s.name: s for s in [
    _openai_v2("openai-v2-2.1b0-legacy-batch", ".venv-oai21", LEGACY, "batch"),
    _openai_v2("openai-v2-2.1b0-legacy-simple", ".venv-oai21", LEGACY, "simple"),
    # 2.4b0 + util-genai 1.1b0 has no legacy path left: "true" is not a valid mode there.
    _openai_v2("openai-v2-2.4b0-legacy-setting-batch", ".venv", LEGACY, "batch"),
    _openai_v2("openai-v2-2.4b0-event-only-batch", ".venv", EVENT_ONLY, "batch"),
    _openai_v2("openai-v2-2.4b0-event-only-simple", ".venv", EVENT_ONLY, "simple"),
    Scenario("openllmetry-openai-attributes", [py(".venv-capture"), OPENAI_CHAT],
             {"CAPTURE_INSTRUMENTOR": "openllmetry", "TRACELOOP_TRACE_CONTENT": "true"}),
    Scenario("openllmetry-openai-events", [py(".venv-capture"), OPENAI_CHAT],
             {"CAPTURE_INSTRUMENTOR": "openllmetry-events", "TRACELOOP_TRACE_CONTENT": "true"}),
    Scenario("anthropic-sdk-own-spans", [py(".venv-capture"), ANTHROPIC],
             {"CAPTURE_INSTRUMENTOR": "none"}),
    Scenario("anthropic-sdk-plus-openllmetry", [py(".venv-capture"), ANTHROPIC],
             {"CAPTURE_INSTRUMENTOR": "openllmetry", "TRACELOOP_TRACE_CONTENT": "true"}),
    Scenario("anthropic-sdk-plus-openllmetry-events", [py(".venv-capture"), ANTHROPIC],
             {"CAPTURE_INSTRUMENTOR": "openllmetry-events", "TRACELOOP_TRACE_CONTENT": "true"}),
    Scenario("anthropic-sdk-plus-openinference", [py(".venv-capture"), ANTHROPIC],
             {"CAPTURE_INSTRUMENTOR": "openinference",
              "ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE": "content"}),
    Scenario("child-before-parent", [py(".venv"), "{here}/clients/child_before_parent.py"],
             {"CAPTURE_SPAN_PROCESSOR": "simple"}),
    # 1.45 emits GenAI-semconv content (+ details log events); 1.36 still has the old
    # gen_ai.prompt / gen_ai.content.* / gen_ai.tool.args shape the issue describes.
    Scenario("openlit-1.45-openai", [py(".venv-openlit"), "{here}/clients/openlit_openai.py"]),
    Scenario("openlit-1.36-openai", [py(".venv-openlit136"), "{here}/clients/openlit_openai.py"]),
    Scenario("claude-code", [str(BIN / "claude"), "-p", CLAUDE_PROMPT,
                             "--allowedTools", "Bash(echo hi)", "--output-format", "json"],
             CLAUDE_ENV, _claude_prepare, settle=6.0),
    Scenario("codex-cli-logs", CODEX_ARGV, CODEX_ENV,
             lambda tmp, env: _codex_prepare(tmp, env, traces=False), settle=6.0),
    Scenario("codex-cli-logs-and-traces", CODEX_ARGV, CODEX_ENV, _codex_prepare, settle=6.0),
    Scenario("vercel-ai-anthropic", ["node", "{here}/clients/vercel_ai.mjs"],
             {"NODE_PATH": str(HERE / "node_modules")}),
]}
