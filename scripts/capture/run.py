"""Run one capture scenario: fake model server + capturing OTLP receiver + a real client.

    python scripts/capture/run.py <scenario> [...]     # or: all, list

Starts the fake model APIs (fake_openai.py, fake_anthropic.py) and the
capturing receiver (otlp_receiver.py) on free loopback ports, runs the real
client (scenarios.py) in a scratch HOME/cwd under a temp dir with OTLP/HTTP
protobuf pointed at the receiver, waits until exports go quiet, and writes
tests/data/otlp/captures/<scenario>/NN-<signal>.pb|.json, index.json and
model-calls.json (what the client asked the fake model, without bodies).
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import fake_anthropic
import fake_openai
from fake_http import FakeServer
from otlp_receiver import CaptureReceiver, write_captures
from scenarios import SCENARIOS, Scenario

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
OUT = REPO / "tests" / "data" / "otlp" / "captures"
ROUTES = {
    "/v1/chat/completions": fake_openai.chat_completions,
    "/v1/responses": fake_openai.responses,
    "/v1/messages": fake_anthropic.messages,
    "/v1/messages/count_tokens": fake_anthropic.count_tokens,
}
# Variables of the calling shell that would leak into, or steer, the client.
DROP_PREFIXES = ("OTEL_", "ANTHROPIC_", "OPENAI_", "CLAUDE", "CODEX_", "TRACELOOP_")


def _env(sc: Scenario, tmp: Path, fake: FakeServer, rx: CaptureReceiver) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROP_PREFIXES)}
    env.update({
        "HOME": str(tmp / "home"), "USER": "dev", "LOGNAME": "dev",
        "OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_SERVICE_NAME": sc.name,
        "FAKE_BASE_URL": fake.base_url,
        "PYTHONPATH": str(HERE / "clients"),
    })
    fill = {"fake": fake.base_url, "otlp": rx.endpoint, "home": tmp / "home", "work": tmp / "work"}
    env.update({k: v.format(**fill) for k, v in sc.env.items()})
    return env


def _call_summary(req: dict) -> dict:
    body = req["body"]
    msgs = body.get("messages") or body.get("input") or []
    return {
        "method": req["method"], "path": req["path"], "model": body.get("model"),
        "stream": bool(body.get("stream")), "tools": len(body.get("tools") or []),
        "items": len(msgs) if isinstance(msgs, list) else 1,
    }


def _whole_values() -> dict[str, str]:
    """Short private values replaced only where they are a whole string (a host "vm" is
    too short to replace inside other text)."""
    values = {getpass.getuser(): "dev", socket.gethostname(): "devbox",
              socket.getfqdn(): "devbox"}
    machine_id = Path("/etc/machine-id")
    if machine_id.exists():  # OTel Node's host.id resource detector reads it
        values[machine_id.read_text().strip()] = "0123456789abcdef0123456789abcdef"
    return values


def run(sc: Scenario) -> list[dict]:
    fake = FakeServer(ROUTES).start()
    rx = CaptureReceiver().start()
    with tempfile.TemporaryDirectory(prefix="pulse-capture-") as t:
        tmp = Path(t).resolve()
        (tmp / "home").mkdir()
        (tmp / "work").mkdir()
        env = _env(sc, tmp, fake, rx)
        if sc.prepare:
            sc.prepare(tmp, env)
        argv = [a.format(here=HERE, repo=REPO, work=tmp / "work") for a in sc.argv]
        proc = subprocess.run(argv, cwd=tmp / "work", env=env, capture_output=True,
                              text=True, timeout=sc.timeout, stdin=subprocess.DEVNULL)
        print(f"[{sc.name}] exit {proc.returncode}", file=sys.stderr)
        (tmp / "client.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
        if proc.returncode != 0 or os.environ.get("CAPTURE_VERBOSE"):
            print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
        rx.wait_quiet(quiet_s=sc.settle, timeout_s=sc.settle + 30)
        fake.stop()
        rx.stop()
        replacements = [(str(tmp / "home"), "/home/dev"), (str(tmp / "work"), "/home/dev/project"),
                        # Claude Code names its per-project folder after the cwd, "/" -> "-"
                        (str(tmp / "work").replace("/", "-"), "-home-dev-project"),
                        (str(tmp), "/tmp/capture"), (str(REPO), "/home/dev/pulse-bridge"),
                        (fake.base_url, "http://127.0.0.1:8089"), (rx.endpoint, "http://127.0.0.1:4318"),
                        (f"127.0.0.1:{fake.port}", "127.0.0.1:8089")]
        index = write_captures(rx.exports, OUT / sc.name, replacements, _whole_values())
    calls = [_call_summary(r) for r in fake.requests]
    (OUT / sc.name / "model-calls.json").write_text(json.dumps(calls, indent=1) + "\n")
    return index


def main(names: list[str]) -> int:
    if not names or names == ["list"]:
        print("\n".join(SCENARIOS))
        return 0
    for name in (list(SCENARIOS) if names == ["all"] else names):
        index = run(SCENARIOS[name])
        print(f"[{name}] " + ", ".join(f"{r['file']}" for r in index))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
