"""Replay a Claude Code session end to end over OTLP/HTTP
(docs/mapping.md §Claude Code logs, §Golden fixtures "06" and "09"): the events export (logs)
becomes traces and spans, the metrics export becomes metric rows, and the two reconcile - per
session and model, traces' cost and tokens equal the metric sums.

Sent the way Claude Code's exporters send them: gzip'd protobuf (``http/protobuf``) and OTLP/JSON
(``http/json``), logs first, then metrics; a second replay of both changes nothing.
"""

from __future__ import annotations

import gzip
from collections import defaultdict

import pytest

from pulse.storage.metric_points import list_metric_points
from tests.support.otlp import (
    FIXTURES,
    JSON,
    PROTO,
    body_of,
    drained,
    partial,
    rows,
    wait_rows,
)

SESSION = "9b2f6c1e-4d7a-4c1b-a0f2-3e8d5a7c6b10"
MODEL = "claude-sonnet-4-5-20250929"
LOGS = next(p for p in FIXTURES if p.stem.startswith("06-"))
METRICS = next(p for p in FIXTURES if p.stem.startswith("09-"))


async def send(http, project, path, encoding: str) -> None:
    route, body = body_of(path, encoding)
    headers = {**project.headers, "Content-Type": encoding}
    if encoding == PROTO:
        body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
    r = await http.post(route, content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(encoding)
    assert not partial(r), partial(r)  # nothing rejected or dropped in this session


@pytest.mark.parametrize("encoding", [PROTO, JSON], ids=["http-protobuf", "http-json"])
async def test_claude_code_session_replay(http, pool, pipeline, project, encoding):
    for _ in range(2):  # the second replay is a redelivery: nothing may change
        await send(http, project, LOGS, encoding)
        await send(http, project, METRICS, encoding)
    await drained(pipeline)
    traces, spans = await wait_rows(http, project, 2, 3)

    ok, failed = sorted(traces, key=lambda t: t["status"] != "success")
    assert ok["status"] == "success" and failed["status"] == "error"
    assert ok["provider"] == "anthropic"
    assert ok["modelRequested"] == ok["modelUsed"] == MODEL
    assert ok["providerRequestId"] == "req_011CSHdQ3Fb7"
    assert (ok["inputTokens"], ok["outputTokens"]) == (43573, 187)
    assert ok["metadata"]["cache_read_input_tokens"] == 41250
    assert ok["metadata"]["cache_creation_input_tokens"] == 2311
    assert abs(float(ok["costCents"]) - 2.38823) < 1e-9
    assert ok["latencyMs"] == 2380 and ok["sessionId"] == SESSION
    assert ok["outputText"] is None and ok["responseBody"] is None  # raw bodies not enabled
    assert ok["serviceName"] == "claude-code"
    assert failed["error"]["message"] == "529 Overloaded (attempt 3)"
    assert failed["latencyMs"] == 3710 and failed["providerRequestId"] is None

    by_kind = {s["kind"]: s for s in spans}
    assert set(by_kind) == {"user_prompt", "tool_use", "llm_response"}
    tool = by_kind["tool_use"]
    assert (tool["toolName"], tool["toolUseId"], tool["status"]) == ("Bash", "toolu_01KbX9",
                                                                     "error")
    assert tool["toolInput"]["full_command"] == "bash -n scripts/deploy.sh"
    assert tool["durationMs"] == 655 and tool["error"] == "ShellError"
    assert tool["parentSpanId"] == by_kind["user_prompt"]["spanId"]
    assert by_kind["llm_response"]["metadata"]["redacted"] is True
    assert all(s["sessionId"] == SESSION and s["cwd"] is None for s in spans)

    # metrics: stored once (6 points), never turned into traces, and they reconcile
    points = await list_metric_points(pool, project.id)
    assert len(points) == 6
    sums: dict[tuple[str, str | None], float] = defaultdict(float)
    for p in points:
        if p["attributes"].get("session.id") == SESSION:
            sums[(p["name"], p["attributes"].get("type"))] += p["value"]
    trace_cost = sum(float(t["costCents"]) for t in traces if t["sessionId"] == SESSION)
    assert abs(sums[("claude_code.cost.usage", None)] * 100 - trace_cost) < 1e-6
    tokens_in = sum(sums[("claude_code.token.usage", k)]
                    for k in ("input", "cacheRead", "cacheCreation"))
    assert tokens_in == sum(t["inputTokens"] for t in traces)
    assert sums[("claude_code.token.usage", "output")] == sum(t["outputTokens"] for t in traces)
    assert {p["temporality"] for p in points if p["name"] != "claude_code.session.count"} == {
        "delta"}


async def test_metrics_alone_make_no_traces(http, pool, pipeline, project):
    await send(http, project, METRICS, PROTO)
    await drained(pipeline)  # metric points, too, go through the queue and the writer loop
    assert len(await list_metric_points(pool, project.id)) == 6
    assert await rows(http, project, "traces") == []
    assert await rows(http, project, "spans") == []
