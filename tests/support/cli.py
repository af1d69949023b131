"""The real ``pulse-bridge`` command in subprocesses: free ports, a clean environment, its own
data directory; used by the CLI, quick-start, fault and scale-out tests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CLI = str(Path(sys.executable).with_name("pulse-bridge"))
KEY = re.compile(r"pulse_sk_[A-Za-z0-9_-]{20,}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(port: int, grpc_port: int | None = None) -> dict[str, str]:
    """This process's environment without Pulse settings, listening on loopback ports."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PULSE_") and k not in ("DATABASE_URL",)
    }
    env["PULSE_HTTP_ENDPOINT"] = f"127.0.0.1:{port}"
    env["PULSE_GRPC_ENDPOINT"] = f"127.0.0.1:{grpc_port or free_port()}"
    return env


class Served:
    """``pulse-bridge serve`` in a subprocess; collects its stdout until it listens."""

    def __init__(self, data_dir: Path, cwd: Path, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc = subprocess.Popen(
            [CLI, "serve", "--data-dir", str(data_dir)],
            cwd=cwd,
            env=clean_env(self.port),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if "Pulse Bridge listening on" in line:
                break
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        for _ in range(200):
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        pytest.fail("server did not become healthy:\n" + "".join(self.output))

    @property
    def text(self) -> str:
        return "".join(self.output)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rest, _ = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rest, _ = self.proc.communicate()
        self.output.append(rest or "")
        return self.proc.returncode


def get_eventually(url: str, headers: dict, timeout: float = 10.0) -> httpx.Response:
    """/async answers once the data is durable in the queue; the writer stores it shortly after."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(url, headers=headers)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def run_cli(data_dir: Path, cwd: Path, *args: str) -> str:
    """A successful command's stdout (the global option after the subcommand, as users type)."""
    done = subprocess.run(
        [CLI, *args, "--data-dir", str(data_dir)],
        cwd=cwd,
        env=clean_env(free_port()),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def postgres_running(data_dir: Path) -> bool:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return any("postgres" in line and str(data_dir) in line for line in ps.splitlines())
