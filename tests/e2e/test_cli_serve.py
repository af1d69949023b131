"""The real ``pulse-bridge`` command, as a new user runs it: no configuration, embedded database.

Acceptance (issue 2, item 1): ``serve`` answers /health, prints a key once, a trace posted to
/v1/traces/async with that key comes back from GET /v1/traces/:id in camelCase with costCents
computed; a second ``serve`` on the same data dir reuses the data; the keys CLI works.
"""

from __future__ import annotations

import re
import subprocess
import uuid

import httpx
import pytest

from tests.support.cli import (
    CLI,
    KEY,
    Served,
    clean_env,
    free_port,
    get_eventually,
    postgres_running,
    run_cli,
)


def test_first_serve_prints_a_key_and_round_trips_a_trace(tmp_path):
    data_dir = tmp_path / "data"
    served = Served(data_dir, tmp_path)
    try:
        keys = KEY.findall(served.text)
        assert len(keys) == 1, served.text
        # the first start shows where the dashboard is and how to get in, with our --data-dir
        assert f"{served.url}/dashboard\n" in served.text, served.text
        assert f"pulse-bridge --data-dir {data_dir} users create" in served.text
        assert f"pulse-bridge --data-dir {data_dir} dashboard-login" in served.text
        headers = {"Authorization": f"Bearer {keys[0]}"}
        trace_id = str(uuid.uuid4())
        item = {
            "trace_id": trace_id,
            "timestamp": "2026-01-25T12:00:00Z",
            "provider": "openai",
            "model_requested": "gpt-4o",
            "request_body": {"messages": []},
            "status": "success",
            "latency_ms": 120,
            "input_tokens": 1000,
            "output_tokens": 500,
        }
        r = httpx.post(served.url + "/v1/traces/async", json=[item], headers=headers)
        assert r.status_code == 202 and r.json() == {"status": "queued", "count": 1}
        row = get_eventually(f"{served.url}/v1/traces/{trace_id}", headers).json()
        assert row["traceId"] == trace_id and row["modelRequested"] == "gpt-4o"
        assert row["costCents"] == pytest.approx(0.75)  # genai-prices: gpt-4o $2.50/$10 per M
        assert row["metadata"]["cost_source"] == "computed"
    finally:
        assert served.stop() == 0, served.text
    assert "Traceback" not in served.text
    assert not postgres_running(data_dir), "embedded PostgreSQL left running after shutdown"

    # A second serve on the same data dir: same data, no new key printed.
    again = Served(data_dir, tmp_path)
    try:
        assert KEY.findall(again.text) == []
        got = httpx.get(f"{again.url}/v1/traces/{trace_id}", headers=headers)
        assert got.status_code == 200
    finally:
        assert again.stop() == 0, again.text


def test_projects_and_keys_cli(tmp_path):
    data_dir = tmp_path / "data"
    out = run_cli(data_dir, tmp_path, "projects", "create", "Acme")
    project_id = re.search(r"project_id:\s+(\S+)", out).group(1)
    first_key = KEY.search(out).group(0)
    out = run_cli(data_dir, tmp_path, "keys", "create", "--project", project_id, "--name", "ci")
    second_key = KEY.search(out).group(0)
    second_id = re.search(r"key_id:\s+(\S+)", out).group(1)
    listing = run_cli(data_dir, tmp_path, "keys", "list", "--project", project_id)
    assert listing.count("active") == 2 and "'ci'" in listing
    assert first_key not in listing and second_key not in listing  # plaintext never shown again
    assert "revoked" in run_cli(data_dir, tmp_path, "keys", "revoke", second_id)
    assert "Acme" in run_cli(data_dir, tmp_path, "projects", "list")

    served = Served(data_dir, tmp_path)
    try:
        # the database already has a project: no default project, no key printed
        assert KEY.findall(served.text) == []
        ok = httpx.get(served.url + "/v1/traces", headers={"Authorization": f"Bearer {first_key}"})
        assert ok.status_code == 200 and ok.json()["total"] == 0
        revoked = httpx.get(
            served.url + "/v1/traces", headers={"Authorization": f"Bearer {second_key}"}
        )
        assert revoked.status_code == 401 and revoked.json() == {"error": "Invalid API key"}
    finally:
        assert served.stop() == 0, served.text


def test_invalid_setting_stops_startup_with_its_name(tmp_path):
    env = clean_env(free_port())
    env["PULSE_DB_POOL_SIZE"] = "many"
    done = subprocess.run(
        [CLI, "--data-dir", str(tmp_path), "serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "PULSE_DB_POOL_SIZE" in done.stderr
