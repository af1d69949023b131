"""Issue 11, defect 1: one poison value must never stop other projects' ingest.

Project A sends, over real OTLP/HTTP JSON, one item whose identifier-like field (the GenAI model,
provider or tool name, or a Claude Code log's ``model`` / ``tool_name``) is a ~3,000-character
random string; the index on that column cannot hold it (btree rows are limited to 2704 bytes,
SQLSTATE 54000). Project B then sends normal data. Oracles: B's rows land, exactly; A's poison is
accounted (its row stored with the field truncated and flagged, or a dead letter with a reason).

Each case runs a private pipeline (own file queue, writer loop and HTTP server) on the session's
database, so a stalled writer cannot wedge other tests.
"""

from __future__ import annotations

import contextlib
import random
import string
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from pulse.main import build_app, ingest_pipeline
from tests.conftest import Project, make_project, settings_for
from tests.helpers import eventually
from tests.support.otlp import serve

POISON_LEN = 3000
T0_NS = 1787220000000000000  # 2026-08-20T10:00:00Z


def poison() -> str:
    rng = random.Random()
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(POISON_LEN))


def attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def otlp_span(attrs: dict[str, Any], name: str = "chat", offset_s: int = 0) -> dict[str, Any]:
    start = T0_NS + offset_s * 10**9
    return {
        "traceId": uuid.uuid4().hex, "spanId": uuid.uuid4().hex[:16], "name": name,
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 10**9),
        "attributes": [attr(k, v) for k, v in attrs.items()],
    }


def traces_body(*spans: dict[str, Any]) -> dict[str, Any]:
    return {"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", "poison-test")]},
        "scopeSpans": [{"spans": list(spans)}],
    }]}


def chat_span(**override: Any) -> dict[str, Any]:
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
             "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
             "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5}
    return otlp_span({**attrs, **override})


def tool_span(**override: Any) -> dict[str, Any]:
    attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search",
             "gen_ai.tool.call.id": f"call_{uuid.uuid4().hex[:8]}",
             "gen_ai.conversation.id": "conv-1"}
    return otlp_span({**attrs, **override}, name="execute_tool search", offset_s=2)


def claude_log(event: str, offset_s: int, **extra: Any) -> dict[str, Any]:
    ts = T0_NS + offset_s * 10**9
    attrs = {"session.id": "cc-session-1", "event.name": event,
             "event.timestamp": f"2026-08-20T10:00:0{offset_s}.000Z",
             "event.sequence": offset_s, **extra}
    return {"timeUnixNano": str(ts), "observedTimeUnixNano": str(ts), "severityNumber": 9,
            "body": {"stringValue": f"claude_code.{event}"},
            "attributes": [attr(k, v) for k, v in attrs.items()]}


def api_request(model: str = "claude-sonnet-4-5") -> dict[str, Any]:
    return claude_log("api_request", 1, model=model, input_tokens=12, output_tokens=34,
                      cost_usd="0.001", duration_ms=900, **{"request_id": uuid.uuid4().hex})


def tool_result(tool_name: str = "Bash") -> dict[str, Any]:
    return claude_log("tool_result", 2, tool_name=tool_name, success="true", duration_ms=120,
                      tool_use_id=f"toolu_{uuid.uuid4().hex[:8]}")


def logs_body(*records: dict[str, Any]) -> dict[str, Any]:
    return {"resourceLogs": [{
        "resource": {"attributes": [attr("service.name", "claude-code")]},
        "scopeLogs": [{"logRecords": list(records)}],
    }]}


@dataclass(frozen=True)
class Case:
    """One poison: the export project A sends, and where the poisoned value should end up."""

    name: str
    route: str
    body: Any  # callable(poison) -> OTLP/JSON export
    table: str  # traces | spans
    column: str


CASES = [
    Case("request_model", "/v1/traces",
         lambda p: traces_body(chat_span(**{"gen_ai.request.model": p})),
         "traces", "model_requested"),
    Case("response_model", "/v1/traces",
         lambda p: traces_body(chat_span(**{"gen_ai.response.model": p})),
         "traces", "model_used"),
    Case("provider_name", "/v1/traces",
         lambda p: traces_body(chat_span(**{"gen_ai.provider.name": p})),
         "traces", "provider"),
    Case("tool_name", "/v1/traces",
         lambda p: traces_body(tool_span(**{"gen_ai.tool.name": p})), "spans", "tool_name"),
    Case("claude_code_log_model", "/v1/logs", lambda p: logs_body(api_request(model=p)),
         "traces", "model_requested"),
    Case("claude_code_log_tool_name", "/v1/logs", lambda p: logs_body(tool_result(tool_name=p)),
         "spans", "tool_name"),
]


@contextlib.asynccontextmanager
async def private_service(backend, pool, tmp_path) -> AsyncIterator[tuple[str, Any]]:
    """The production pipeline and app on a private queue and HTTP server."""
    settings = replace(settings_for(backend), writer_linger_ms=5, shutdown_timeout_s=1)
    async with ingest_pipeline(settings, pool, tmp_path / "queue") as pipeline:
        app = build_app(settings, pool, pipeline)
        async for url in serve(app):
            yield url, pipeline


async def count(pool, sql: str, *args: Any) -> int:
    async with pool.connection() as conn:
        return (await (await conn.execute(sql, args)).fetchone())[0]


async def post_json(http: httpx.AsyncClient, project: Project, route: str, body: Any):
    r = await http.post(route, json=body, headers=project.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def send_normal(http: httpx.AsyncClient, b: Project) -> None:
    """Project B's normal data: 2 traces and 2 spans (one each over traces and logs)."""
    await post_json(http, b, "/v1/traces", traces_body(chat_span(), tool_span()))
    await post_json(http, b, "/v1/logs", logs_body(api_request(), tool_result()))


async def b_counts(pool, b: Project) -> tuple[int, int]:
    traces = await count(pool, "SELECT count(*) FROM pulse.traces WHERE project_id = %s", b.id)
    spans = await count(pool, "SELECT count(*) FROM pulse.spans WHERE project_id = %s", b.id)
    return traces, spans


async def poison_outcome(pool, a: Project, case: Case) -> tuple[int, int, int]:
    """(A's rows with the column cut and flagged, A's rows holding the full value, dead letters
    for A with a reason)."""
    flagged = await count(
        pool,
        f"SELECT count(*) FROM pulse.{case.table} WHERE project_id = %s"
        f" AND length({case.column}) <= 512"
        f" AND metadata->'pulse.truncated' ? %s",
        a.id, case.column,
    )
    full = await count(pool, f"SELECT count(*) FROM pulse.{case.table} WHERE project_id = %s"
                             f" AND length({case.column}) >= {POISON_LEN}", a.id)
    dead = await count(pool, "SELECT count(*) FROM pulse.dead_letters WHERE project_id = %s"
                             " AND reason <> ''", a.id)
    return flagged, full, dead


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_a_poison_value_never_stops_another_projects_ingest(
    backend, pool, tmp_path, case: Case
):
    a = await make_project(pool, "poison-a")
    b = await make_project(pool, "poison-b")
    async with (
        private_service(backend, pool, tmp_path) as (url, _pipeline),
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        answer = await post_json(http, a, case.route, case.body(poison()))
        partial = answer.get("partialSuccess") or {}
        assert not partial.get("rejectedSpans", partial.get("rejectedLogRecords")), answer
        await send_normal(http, b)
        got = await eventually(lambda: b_counts(pool, b), lambda c: c == (2, 2), timeout=20)
        assert got == (2, 2), "project B's data never landed behind A's poison"
        outcome = await eventually(lambda: poison_outcome(pool, a, case),
                                   lambda o: o[0] + o[2] >= 1, timeout=20)
    flagged, full, dead = outcome
    assert full == 0
    assert flagged + dead == 1, f"A's poison is not accounted: {outcome}"
