"""The README's quick start, followed as a newcomer would (install aside), and the runnable
OpenTelemetry example (issue 16, acceptance 3).

``pulse-bridge serve`` on the embedded database in a fresh data directory with free ports; the
README's curl commands run as written by bash (the printed key and this server's port put in);
the account and sign-in link come from the commands the first start printed; the trace must be on
the dashboard's Overview in its default range. Then examples/python_app.py, with
examples/python-app.env and the real OpenAI client pointed at a stand-in, exports to the server.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.support.cli import CLI, KEY, Served, clean_env
from tests.support.fake_openai import fake_openai

ROOT = Path(__file__).resolve().parents[2]
TRACE_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
PASSWORD = "quick start password"


def quick_start_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- quick-start:start", 1)[1].split("<!-- quick-start:end", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.S)


def block_with(text: str) -> str:
    (block,) = [b for b in quick_start_blocks() if text in b]
    return block


def as_written(block: str, served: Served, key: str) -> str:
    """The README's commands with the printed key and this server's address put in."""
    assert "KEY=pulse_sk_...   # the key printed above" in block or "$KEY" in block
    return (block.replace("KEY=pulse_sk_...", f"KEY={shlex.quote(key)}")
            .replace("localhost:4318", f"127.0.0.1:{served.port}"))


def bash(script: str, key: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-ec", f"KEY={shlex.quote(key)}\n{script}"],
                          capture_output=True, text=True, timeout=60)


def printed_command(served: Served, subcommand: str) -> list[str]:
    """A command the first start told the user to run, as printed."""
    (line,) = [ln for ln in served.output if f" {subcommand}" in ln and "pulse-bridge" in ln]
    words = shlex.split(line)
    assert words[0] == "pulse-bridge"
    return [CLI, *words[1:]]


@pytest.fixture(scope="module")
def first_start(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("quick")
    assert block_with("pulse-bridge serve").strip() == "pulse-bridge serve"
    served = Served(tmp / "data", tmp)
    try:
        (key,) = KEY.findall(served.text)
        yield served, key
    finally:
        assert served.stop() == 0, served.text


def test_readme_quick_start_trace_is_on_the_default_overview(first_start):
    served, key = first_start
    sent = bash(as_written(block_with("curl -s -X POST"), served, key), key)
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.strip() == '{"status":"queued","count":1}', sent.stdout

    read = as_written(block_with(f"/v1/traces/{TRACE_ID}"), served, key)
    deadline = time.monotonic() + 15
    while '"traceId"' not in (got := bash(read, key)).stdout and time.monotonic() < deadline:
        time.sleep(0.2)
    row = json.loads(got.stdout)
    assert (row["traceId"], row["costCents"]) == (TRACE_ID, 0.75)
    stamp = datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 300, "the README sends 'now'"

    # the account and the sign-in link, with the commands the first start printed
    create = subprocess.run([*printed_command(served, "users create"), "--password-stdin"],
                            input=PASSWORD + "\n", capture_output=True, text=True, timeout=120,
                            env=clean_env(served.port))  # the server's environment
    assert create.returncode == 0, create.stderr
    login = subprocess.run(printed_command(served, "dashboard-login"), capture_output=True,
                           text=True, timeout=120, env=clean_env(served.port))
    link = re.search(r"http://\S+/dashboard/login\?token=\S+", login.stdout)
    assert link and f"{served.url}/dashboard\n" in served.text, login.stdout + served.text
    with httpx.Client(timeout=30) as browser:
        signed_in = browser.get(link.group(0))
        assert signed_in.status_code == 303, signed_in.text
        overview = browser.get(f"{served.url}/dashboard", follow_redirects=True)
    assert overview.status_code == 200 and "/dashboard/p/" in str(overview.url)
    assert ">gpt-4o<" in overview.text, "the trace is not in the Overview's default range"


def test_python_example_exports_to_the_server(first_start, tmp_path):
    served, key = first_start
    env_file = (ROOT / "examples" / "python-app.env").read_text()
    assert "pulse_sk_REPLACE_ME" in env_file and "http://localhost:4318" in env_file
    env_file = (env_file.replace("pulse_sk_REPLACE_ME", key)
                .replace("http://localhost:4318", served.url))
    (tmp_path / "app.env").write_text(env_file)
    with fake_openai() as openai_url:
        run = subprocess.run(
            ["bash", "-ec", f"source {tmp_path / 'app.env'}\n"
             f"exec {shlex.quote(sys.executable)} examples/python_app.py"],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
            env={"PATH": "/usr/bin:/bin", "OPENAI_API_KEY": "sk-test",
                 "OPENAI_BASE_URL": openai_url},
        )
    assert run.returncode == 0, run.stderr
    assert "Paris" in run.stdout
    headers = {"Authorization": f"Bearer {key}"}
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        traces = httpx.get(f"{served.url}/v1/traces", params={"session_id":
                           "example-conversation-1"}, headers=headers).json()["traces"]
        if traces:
            break
        time.sleep(0.2)
    (trace,) = traces
    assert (trace["provider"], trace["modelRequested"], trace["modelUsed"]) == (
        "openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    assert (trace["inputTokens"], trace["outputTokens"]) == (18, 9)
    assert trace["costCents"] is not None
