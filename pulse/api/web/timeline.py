"""The session replay timeline (session detail page): a session's spans and LLM-call traces merged
into one ordered tree of steps.

* A tool call is ONE step however many of its events arrived (Claude Code's ``pre_tool_use`` and
  ``post_tool_use`` share a ``tool_use_id``); its duration is ``duration_ms`` or the time between
  its first and last event - the same unit rule as ``GET /v1/analytics/spans``.
* Nesting follows ``parent_span_id``, else the OpenTelemetry parent span id (an LLM call's
  parent is the agent or tool span that made it, as the client sent it). A step with no parent
  whose ``agent_name`` names a sub-agent run (an ``agent_run`` span of that name) is put under
  that run, so sub-agent work reads as nested under the run that did it.
* Each step gets ``offset`` / ``width`` as fractions of the session's wall-clock extent, for the
  duration bar (rendered as SVG attributes: the CSP forbids inline styles).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from pulse.api.web.render import parse_ts

MAIN_AGENTS = (None, "", "main")


def _ms(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() * 1000


def _preview(value: Any, n: int = 140) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        for key in ("command", "file_path", "path", "pattern", "url", "description", "prompt",
                    "query"):
            if isinstance(value.get(key), str):
                value = value[key]
                break
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _tool_steps(spans: list[dict]) -> list[dict]:
    groups: dict[str, list[dict]] = {}
    for s in spans:
        groups.setdefault(s.get("toolUseId") or s["spanId"], []).append(s)
    steps = []
    for events in groups.values():
        events.sort(key=lambda s: s["timestamp"])
        first, last = events[0], events[-1]
        start, end = parse_ts(first["timestamp"]), parse_ts(last["timestamp"])
        duration = next((e["durationMs"] for e in events if e.get("durationMs") is not None),
                        _ms(start, end) if len(events) > 1 else None)
        status = next((e["status"] for e in reversed(events) if e.get("status")), None)
        error = next((e["error"] for e in events if e.get("error")), None)
        tool_input = next((e["toolInput"] for e in events if e.get("toolInput") is not None), None)
        response = next((e["toolResponse"] for e in reversed(events)
                         if e.get("toolResponse") is not None), None)
        steps.append({
            **_otel(first),
            "type": "tool", "id": first["spanId"], "ids": [e["spanId"] for e in events],
            "parent": next((e["parentSpanId"] for e in events if e.get("parentSpanId")), None),
            "agent": first.get("agentName"), "start": start, "duration": duration,
            "status": "error" if error and status != "success" else status,
            "title": first.get("toolName") or "tool", "preview": _preview(tool_input),
            "error": error, "detail": {"input": tool_input, "response": response,
                                       "events": [e["eventType"] for e in events]},
            "interrupt": any(e.get("isInterrupt") for e in events), "children": [],
        })
    return steps


def _otel(row: dict) -> dict:
    return {"otel": row.get("otelSpanId"), "otel_parent": row.get("otelParentSpanId"),
            "otel_trace": row.get("otelTraceId")}


def _span_step(s: dict) -> dict:
    kind = s["kind"]
    meta = s.get("metadata") or {}
    prompt = meta.get("prompt") or meta.get("text") or s.get("toolInput")
    title = {"user_prompt": "User prompt", "agent_run": f"Agent run · {s.get('agentName') or ''}",
             "session": "Session " + s.get("eventType", ""), "llm_response": "LLM response",
             "notification": "Notification"}.get(kind, kind)
    return {
        **_otel(s),
        "type": kind, "id": s["spanId"], "ids": [s["spanId"]], "parent": s.get("parentSpanId"),
        "agent": s.get("agentName"), "start": parse_ts(s["timestamp"]),
        "duration": s.get("durationMs"), "status": s.get("status"),
        "title": title.rstrip(" ·"), "preview": _preview(prompt if kind == "user_prompt"
                                                          else s.get("eventType")),
        "error": s.get("error"), "detail": s, "interrupt": bool(s.get("isInterrupt")),
        "model": s.get("model"), "children": [],
    }


def _trace_step(t: dict) -> dict:
    tokens = (t.get("inputTokens") or 0) + (t.get("outputTokens") or 0)
    return {
        **_otel(t),
        "type": "llm", "id": t["traceId"], "ids": [t["traceId"]], "parent": None,
        "agent": (t.get("metadata") or {}).get("agent_name"), "agent_id": _agent_id(t),
        "start": parse_ts(t["timestamp"]),
        "duration": t.get("latencyMs"), "status": t.get("status"),
        "title": t.get("modelUsed") or t.get("modelRequested"), "provider": t.get("provider"),
        "preview": _preview(t.get("outputText")), "tokens": tokens, "cost": t.get("costCents"),
        "error": t.get("error"), "detail": None, "interrupt": False, "children": [],
    }


def _agent_id(row: dict) -> str | None:
    value = (row.get("metadata") or {}).get("agent_id")
    return value if isinstance(value, str) and value else None


def _pair_subagents(steps: list[dict], spans: list[dict]) -> list[dict]:
    """Claude Code hooks send a sub-agent as ``subagent_start`` and ``subagent_stop`` rows
    sharing ``metadata.agent_id``: one run step, from the start to the stop. Every step carries
    its ``agent_id`` so work inside the sub-agent nests under its run."""
    rows = {s["spanId"]: s for s in spans}
    runs: dict[str, dict] = {}
    out = []
    for step in steps:
        row = rows.get(step["id"]) or {}
        step["agent_id"] = _agent_id(row) if row else step.get("agent_id")
        event = row.get("eventType")
        if step["type"] != "agent_run" or event not in ("subagent_start", "subagent_stop") \
                or step["agent_id"] is None:
            out.append(step)
            continue
        run = runs.get(step["agent_id"])
        if run is None:
            runs[step["agent_id"]] = step
            step["run_of"] = step["agent_id"]
            out.append(step)
            continue
        first, last = (run, step) if run["start"] <= step["start"] else (step, run)
        run["ids"] += step["ids"]
        run["duration"] = step.get("duration") or run.get("duration") or _ms(
            first["start"], last["start"])
        run["start"] = first["start"]
        run["status"] = last.get("status") or run.get("status")
        run["error"] = run.get("error") or step.get("error")
        run["title"] = run["title"] if run["title"] != "Agent run" else step["title"]
        run["detail"] = {"start": run["detail"], "stop": step["detail"]}
        run["preview"] = "sub-agent · subagent_start → subagent_stop"
    return out


def build(trace_rows: list[str], span_rows: list[str]) -> dict[str, Any]:
    traces = [orjson.loads(r) for r in trace_rows]
    spans = [orjson.loads(r) for r in span_rows]
    tools = [s for s in spans if s["kind"] == "tool_use"]
    steps = _tool_steps(tools) + [_span_step(s) for s in spans if s["kind"] != "tool_use"]
    steps.sort(key=lambda s: (s["start"], s["id"]))
    steps = _pair_subagents(steps, spans)
    steps += [_trace_step(t) for t in traces]
    steps.sort(key=lambda s: (s["start"], s["id"]))
    if not steps:
        return {"roots": [], "count": 0, "start": None, "extent_ms": 0, "stats": {}}
    start = steps[0]["start"]
    end = max(
        (s["start"].timestamp() * 1000 + (s["duration"] or 0) for s in steps), default=0.0
    )
    extent = max(end - start.timestamp() * 1000, 1.0)
    for s in steps:
        s["offset_ms"] = _ms(start, s["start"])
        s["x"] = round(100 * s["offset_ms"] / extent, 3)
        s["w"] = round(max(100 * (s["duration"] or 0) / extent, 0.4), 3)
    roots = _nest(steps)
    for r in roots:
        _roll_up(r)
    stats = {
        "llm_calls": len(traces), "tool_calls": sum(1 for s in steps if s["type"] == "tool"),
        "prompts": sum(1 for s in steps if s["type"] == "user_prompt"),
        "errors": sum(1 for s in steps if s["status"] == "error"),
        "tokens": sum(s.get("tokens") or 0 for s in steps),
        "cost": sum(float(t.get("costCents") or 0) for t in traces),
    }
    return {"roots": roots, "count": len(trace_rows) + len(span_rows), "start": start,
            "extent_ms": extent, "stats": stats}


def _nest(steps: list[dict]) -> list[dict]:
    by_id = {i: s for s in steps for i in s["ids"]}
    by_otel = {s["otel"]: s for s in steps if s.get("otel")}
    for s in steps:  # the OTel parent, as a row id, when no parent_span_id says otherwise
        if not s["parent"] and s.get("otel_parent") in by_otel:
            s["parent"] = by_otel[s["otel_parent"]]["id"]
    runs = {s["agent"]: s for s in steps
            if s["type"] == "agent_run" and s["agent"] not in MAIN_AGENTS}
    by_agent_id = {s["run_of"]: s for s in steps if s.get("run_of")}
    roots = []
    for s in steps:
        parent = by_id.get(s["parent"]) if s["parent"] else None
        if parent is None and s.get("agent_id") in by_agent_id and not s.get("run_of"):
            parent = by_agent_id[s["agent_id"]]
        if parent is None and s["type"] != "agent_run" and s["agent"] not in MAIN_AGENTS:
            parent = runs.get(s["agent"])
        if parent is not None and parent is not s and not _descends(parent, s, by_id):
            parent["children"].append(s)
        else:
            roots.append(s)
    return roots


def _descends(node: dict, ancestor: dict, by_id: dict) -> bool:
    """Whether ``node`` already sits below ``ancestor`` (guards against parent cycles)."""
    seen = 0
    while node.get("parent") and seen < 64:
        node = by_id.get(node["parent"]) or {}
        if node is ancestor:
            return True
        seen += 1
    return False


def _roll_up(step: dict) -> tuple[int, float]:
    """Tokens and cost of the step and everything below it (``sub_tokens``, ``sub_cost``)."""
    tokens, cost = step.get("tokens") or 0, float(step.get("cost") or 0)
    for c in step["children"]:
        t, k = _roll_up(c)
        tokens, cost = tokens + t, cost + k
    step["sub_tokens"], step["sub_cost"] = tokens, cost
    return tokens, cost
