"""``/openapi.json`` matches the real behaviour (issue 6 acceptance 3): Schemathesis fuzzes every
operation of the document against the real server, without credentials, with an API key, and with
a dashboard session scoped to a project; no 5xx, no status code, content type or body outside
the document. Bounded: a few examples per operation, loopback only. The same harness, pointed at
an app that answers outside its own document, must fail (so a green fuzz run means something).
Row shapes route by route: tests/api/test_row_contract.py."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from tests import accounts_fixtures as fx
from tests.accounts_fixtures import new_key
from tests.conftest import _QuietServer, free_port

# fixtures, used by name
account = fx.account

ST = str(Path(sys.executable).with_name("schemathesis"))
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance")


async def fuzz(server: str, tmp_path: Path, *args: str, examples: int = 6) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        ST, "run", f"{server}/openapi.json", "--checks", CHECKS, "--mode", "all",
        "--phases", "examples,fuzzing", "--max-examples", str(examples), "--no-shrink",
        "--seed", "6", "--workers", "1", "--request-timeout", "20",
        "--suppress-health-check", "all", "--exclude-path", "/api/auth/sign-out",
        "--report", "junit", "--report-dir", str(tmp_path), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={"PATH": str(Path(ST).parent), "HOME": str(tmp_path), "NO_COLOR": "1"},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=240)
    return proc.returncode, out.decode(errors="replace")


def liar() -> FastAPI:
    """An app whose one route answers a row of the wrong shape for its own document."""
    app = FastAPI()

    @app.get("/row")
    async def row() -> JSONResponse:
        return JSONResponse({"traceId": 5})

    schema = {"type": "object", "required": ["traceId"],
              "properties": {"traceId": {"type": "string"}}}
    doc = {
        "openapi": "3.1.0", "info": {"title": "liar", "version": "1"},
        "paths": {"/row": {"get": {"responses": {"200": {
            "description": "a row", "content": {"application/json": {"schema": schema}}}}}}},
    }
    app.openapi = lambda: doc
    return app


async def test_the_fuzz_run_fails_on_a_response_outside_the_document(tmp_path):
    """The harness below is able to fail: same checks and flags, against an app that lies."""
    port = free_port()
    server = _QuietServer(uvicorn.Config(liar(), host="127.0.0.1", port=port,
                                         log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        code, out = await fuzz(f"http://127.0.0.1:{port}", tmp_path, examples=2)
    finally:
        server.should_exit = True
        await task
    assert code != 0, out
    assert "Response violates schema" in out, out


async def test_document_covers_the_api(http):
    doc = (await http.get("/openapi.json")).json()
    paths = doc["paths"]
    for path in ("/v1/traces", "/v1/traces/{trace_id}", "/v1/spans/batch", "/v1/analytics",
                 "/dashboard/api/traces", "/dashboard/api/api-keys/{key_id}",
                 "/api/auth/sign-in/email", "/dashboard/api/signup"):
        assert path in paths, path
    for path, item in paths.items():
        for method, op in item.items():
            assert "422" not in op["responses"], (method, path)
            if path.startswith(("/v1/", "/dashboard/api/")) and path != "/dashboard/api/signup":
                assert "401" in op["responses"], (method, path)
    listed = paths["/v1/traces"]["get"]["responses"]["200"]["content"]["application/json"]
    assert listed["schema"]["properties"]["traces"]["items"] == {
        "$ref": "#/components/schemas/TraceRow"}


@pytest.mark.parametrize("who", ["anonymous", "api_key", "session"])
async def test_fuzz_the_whole_api(server, account, who, tmp_path):
    args: list[str] = []
    if who == "api_key":
        args = ["-H", f"Authorization: Bearer {await new_key(account)}"]
    elif who == "session":
        args = ["-H", f"Cookie: better-auth.session_token={account.cookie}",
                "-H", f"X-Project-Id: {account.project_id}"]
    args += ["-H", "X-Forwarded-For: 10.250.0.1" if who != "session" else
             "X-Forwarded-For: 10.250.0.2"]
    code, out = await fuzz(server, tmp_path, *args)
    assert code == 0, out
    assert "passed" in out.lower()
    print(out[-3000:])
