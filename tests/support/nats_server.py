"""Real NATS servers with JetStream for the ``nats`` queue tests: Debian's ``nats-server`` on free
loopback ports with its own store directory (one per test module, so tests never share a
stream), and a three-node cluster for the replication test. In CI a missing ``nats-server`` is
a failure, elsewhere a skip."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import CI

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            return conn.recv(4).startswith(b"INFO")
    except OSError:
        return False


class NatsServer:
    """One ``nats-server -js`` process; ``stop``/``kill``/``start`` keep its port and store."""

    def __init__(self, store: Path, *, port: int | None = None, name: str = "n1",
                 cluster: tuple[int, list[int]] | None = None,
                 max_payload: int | None = None) -> None:
        if not Path(NATS_SERVER).exists():
            if CI:
                pytest.fail(f"nats-server not found at {NATS_SERVER} (CI needs it)")
            pytest.skip("nats-server is not installed")
        self.store, self.name = store, name
        self.port = port or _free_port()
        self.cluster = cluster
        self.max_payload = max_payload
        self.proc: subprocess.Popen | None = None
        self.log = store / f"{name}.log"
        self.start()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def _config(self) -> Path:
        lines = [f'server_name: "{self.name}"', "host: 127.0.0.1", f"port: {self.port}",
                 f'jetstream {{ store_dir: "{self.store / self.name}" }}']
        if self.max_payload:
            lines.append(f"max_payload: {self.max_payload}")
        if self.cluster:
            own, peers = self.cluster
            routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in peers)
            lines.append(f'cluster {{ name: "pulse-test", listen: "127.0.0.1:{own}", '
                         f"routes: [{routes}] }}")
        path = self.store / f"{self.name}.conf"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self, wait: bool = True) -> None:
        self.store.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [NATS_SERVER, "-c", str(self._config())],
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_up()

    def wait_up(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _answers(self.port):
                return
            if self.proc is not None and self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"nats-server {self.name} did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=20)
        self.proc = None


class NatsCluster:
    """Three JetStream nodes routed to each other on loopback ports."""

    def __init__(self, store: Path, size: int = 3) -> None:
        ports = [_free_port() for _ in range(size)]
        routes = [_free_port() for _ in range(size)]
        self.nodes = [
            NatsServer(store, port=ports[i], name=f"n{i + 1}",
                       cluster=(routes[i], [r for j, r in enumerate(routes) if j != i]))
            for i in range(size)
        ]

    @property
    def url(self) -> str:
        return ",".join(n.url for n in self.nodes)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
