"""Every failure of the ``pulse-bridge`` command is one line that names the cause and the setting
or flag to change, with a non-zero exit code and no traceback (unless ``--debug``); the global
options work before or after the subcommand and appear in every ``--help`` (issue 16).

Real subprocesses of the installed command, free ports, their own temp directories.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from pathlib import Path

import pytest

from pulse.cli import main
from pulse.config import Settings
from pulse.errors import ConfigError
from pulse.main import serve
from tests.support.cli import CLI, clean_env, free_port

COMMANDS = [
    [], ["serve"], ["migrate"], ["projects", "create"], ["projects", "list"], ["keys", "create"],
    ["keys", "list"], ["keys", "revoke"], ["users", "create"], ["dashboard-login"],
]


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
        **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], cwd=tmp_path, env=env or clean_env(free_port()), capture_output=True,
        text=True, timeout=120, stdin=subprocess.DEVNULL, **kw,
    )


def one_line_error(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert done.returncode != 0, done
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@contextlib.contextmanager
def busy_port():
    """A port with a listener on it, as another program would hold it."""
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_every_help_lists_the_global_options(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert {"--config", "--data-dir", "--debug"} <= set(shown.replace("[", " ").split())


def test_global_options_before_and_after_the_subcommand(tmp_path):
    after = run(tmp_path, "projects", "create", "After", "--data-dir", str(tmp_path / "d"))
    assert after.returncode == 0, after.stderr
    before = run(tmp_path, "--data-dir", str(tmp_path / "d"), "projects", "list")
    assert before.returncode == 0 and "After" in before.stdout, before.stderr


@pytest.mark.parametrize("which", ["http", "grpc"])
def test_busy_port_names_the_setting(tmp_path, which):
    with busy_port() as port:
        env = clean_env(port) if which == "http" else clean_env(free_port(), grpc_port=port)
        done = run(tmp_path, "serve", "--data-dir", str(tmp_path / "d"), env=env)
    setting = "PULSE_HTTP_ENDPOINT" if which == "http" else "PULSE_GRPC_ENDPOINT"
    one_line_error(done, f"127.0.0.1:{port}", setting)
    assert not (tmp_path / "d").exists(), "nothing is started before the ports are checked"


async def test_serve_reports_a_grpc_bind_failure_as_a_setting(backend, tmp_path):
    """The CLI checks ports first; a port taken after that check still ends as one error."""
    with busy_port() as port:
        settings = Settings(
            database_url=backend.url, data_dir=tmp_path, http_host="127.0.0.1",
            http_port=free_port(), grpc_host="127.0.0.1", grpc_port=port,
            create_default_project=False, mapping_workers=0,
        )
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}.*PULSE_GRPC_ENDPOINT"):
            await serve(settings)


def test_missing_config_file_names_the_flag(tmp_path):
    one_line_error(run(tmp_path, "migrate", "--config", str(tmp_path / "nope.yaml")),
                   "nope.yaml", "--config")


def test_invalid_config_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("receivers:\n  otlp: [unclosed\n")
    one_line_error(run(tmp_path, "--config", str(bad), "serve"), str(bad), "--config")


def test_invalid_setting_names_it(tmp_path):
    env = clean_env(free_port())
    env["PULSE_DB_POOL_SIZE"] = "many"
    done = run(tmp_path, "serve", "--data-dir", str(tmp_path), env=env)
    assert done.returncode == 2
    one_line_error(done, "PULSE_DB_POOL_SIZE")


@pytest.mark.parametrize("command", [["migrate"], ["serve"], ["projects", "list"]])
def test_unreachable_database_names_database_url(tmp_path, command):
    env = clean_env(free_port())
    env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:{free_port()}/pulse"
    one_line_error(run(tmp_path, *command, env=env), "DATABASE_URL", "Connection refused")


def test_data_dir_that_is_a_file_names_the_flag(tmp_path):
    taken = tmp_path / "file"
    taken.write_text("not a directory")
    one_line_error(run(tmp_path, "projects", "list", "--data-dir", str(taken)), "--data-dir")


def test_password_prompt_without_a_terminal(tmp_path):
    # a new session has no controlling terminal, like a CI job or a pipe from cron
    done = run(tmp_path, "users", "create", "--email", "a@example.com", "--name", "A",
               "--data-dir", str(tmp_path / "d"), start_new_session=True)
    one_line_error(done, "no terminal", "--password-stdin")


def test_malformed_id_is_one_line_before_touching_the_database(tmp_path):
    done = run(tmp_path, "keys", "list", "--project", "nope", "--data-dir", str(tmp_path / "d"))
    one_line_error(done, "--project", "UUID")
    assert not (tmp_path / "d").exists()


def test_debug_shows_the_traceback(tmp_path):
    env = clean_env(free_port())
    env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:{free_port()}/pulse"
    done = run(tmp_path, "migrate", "--debug", env=env)
    assert done.returncode != 0 and "Traceback" in done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="as root the embedded server needs unshare")
def test_embedded_as_root_without_unshare_names_the_ways_out(tmp_path):
    env = clean_env(free_port())
    env["PATH"] = str(tmp_path)  # no util-linux here
    one_line_error(run(tmp_path, "projects", "list", "--data-dir", str(tmp_path / "d"), env=env),
                   "unshare", "DATABASE_URL")
