"""Seeded, realistic data for the dashboard tests and screenshots: two projects for one admin
(Acme Support Bot, Sandbox), one stranger's project (Eve), LLM calls over the last week and a
Claude Code agent session with a sub-agent, written with the storage functions directly."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pulse.records import OtelIdentity, SpanRecord, TraceRecord
from pulse.storage import accounts, auth_sessions
from pulse.storage.writer import write_records

PASSWORD = "correct horse battery staple"
AGENT_SESSION = "claude-7f3a9c-fix-parser"
CHAT_SESSION = "conv-billing-4821"
SECRET = "EVE-SECRET-MARKER"
QUESTIONS = [
    "How do I change the billing email on my account?",
    "My invoice for March shows two charges, can you check?",
    "Can I export all my data as CSV?",
    "What is your refund policy for annual plans?",
    "The mobile app logs me out every hour.",
]


@dataclass
class World:
    email: str
    acme: uuid.UUID
    sandbox: uuid.UUID
    eve_email: str
    eve_project: uuid.UUID
    eve_trace: uuid.UUID
    member_email: str  # a plain (non-admin) member of Acme
    error_trace: uuid.UUID
    tool_trace: uuid.UUID


def _chat(i: int, now: datetime, rnd: random.Random, session: str | None) -> TraceRecord:
    provider, model, used = rnd.choice([
        ("openai", "gpt-4o", "gpt-4o-2024-08-06"), ("openai", "gpt-4o-mini", "gpt-4o-mini"),
        ("anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
    ])
    question = QUESTIONS[i % len(QUESTIONS)]
    answer = f"Sure - here is how to handle that ({i}). Open Settings, then Billing."
    ok = i % 13 != 5
    inp, out = rnd.randint(300, 4000), rnd.randint(40, 900)
    return TraceRecord(
        trace_id=uuid.uuid4(), timestamp=now - timedelta(minutes=37 * i + rnd.randint(0, 30)),
        provider=provider, model_requested=model, model_used=used,
        request_body={"model": model, "messages": [
            {"role": "system", "content": "You are Acme's support assistant. Be concise."},
            {"role": "user", "content": question}]},
        response_body={"choices": [{"message": {"role": "assistant", "content": answer}}]}
        if ok else None,
        status="success" if ok else "error", latency_ms=rnd.lognormvariate(6.6, 0.5),
        input_tokens=inp, output_tokens=out if ok else 0, output_text=answer if ok else None,
        finish_reason="stop" if ok else None,
        error=None if ok else {"type": "rate_limit_error", "message": "Rate limit reached"},
        cost_cents=Decimal(str(round(inp * 0.00025 + out * 0.001, 4))),
        session_id=session, metadata={"cost_source": "computed", "env": "production"},
    )


def _tool_call_trace(now: datetime) -> TraceRecord:
    return TraceRecord(
        trace_id=uuid.uuid4(), timestamp=now - timedelta(minutes=3), provider="openai",
        model_requested="gpt-4o", model_used="gpt-4o-2024-08-06",
        request_body={"model": "gpt-4o", "messages": [
            {"role": "user", "content": "What's the status of order 1042?"}],
            "tools": [{"type": "function", "function": {"name": "lookup_order"}}]},
        response_body={"choices": [{"message": {"role": "assistant", "content": None,
                       "tool_calls": [{"id": "call_1", "type": "function", "function": {
                           "name": "lookup_order", "arguments": "{\"order_id\": 1042}"}}]}}],
                       "usage": {"prompt_tokens": 812, "completion_tokens": 22,
                                 "prompt_tokens_details": {"cached_tokens": 512}}},
        status="success", latency_ms=640.0, input_tokens=812, output_tokens=22,
        finish_reason="tool_calls", cost_cents=Decimal("0.2250"), session_id=CHAT_SESSION,
        metadata={"cost_source": "provider", "cache_read_input_tokens": 512},
        otel=OtelIdentity("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", None,
                          "support-bot"),
    )


def _agent(start: datetime) -> list[TraceRecord | SpanRecord]:
    sid, items = AGENT_SESSION, []
    t = start

    def at(seconds: float) -> datetime:
        return t + timedelta(seconds=seconds)

    def span(sec, kind, event, **kw) -> SpanRecord:
        return SpanRecord(span_id=uuid.uuid4(), session_id=sid, timestamp=at(sec),
                          source="claude_code", kind=kind, event_type=event, cwd="/src/acme",
                          model="claude-sonnet-4-5", **kw)

    def tool(sec, dur, name, tin, tout, status="success", agent="main", parent=None, err=None):
        use = f"toolu_{uuid.uuid4().hex[:10]}"
        common = dict(tool_use_id=use, tool_name=name, tool_input=tin, agent_name=agent,
                      parent_span_id=parent)
        return [span(sec, "tool_use", "pre_tool_use", **common),
                span(sec + dur, "tool_use", "post_tool_use", status=status, tool_response=tout,
                     error=err, **common)]

    def llm(sec, dur, inp, out, text) -> TraceRecord:
        return TraceRecord(
            trace_id=uuid.uuid4(), timestamp=at(sec), provider="anthropic",
            model_requested="claude-sonnet-4-5", model_used="claude-sonnet-4-5-20250929",
            request_body={"model": "claude-sonnet-4-5", "system": "You are Claude Code.",
                          "messages": [{"role": "user", "content": "Fix the failing parser test"}]},
            response_body={"role": "assistant", "content": [{"type": "text", "text": text}]},
            status="success", latency_ms=dur * 1000, input_tokens=inp, output_tokens=out,
            output_text=text, cost_cents=Decimal(str(round(inp * 0.0003 + out * 0.0015, 4))),
            session_id=sid, metadata={"cost_source": "computed",
                                      "cache_read_input_tokens": inp // 2})

    items.append(span(0, "session", "session_start", status="success"))
    items.append(span(1, "user_prompt", "user_prompt_submit", status="success",
                      metadata={"prompt": "The parser test fails on empty input - fix it"}))
    items.append(llm(2, 3.1, 5200, 310, "I'll look at the parser and its test first."))
    items += tool(5.5, 0.12, "Read", {"file_path": "src/acme/parser.py"}, {"lines": 184})
    items += tool(6, 0.4, "Grep", {"pattern": "def parse", "path": "src"}, {"matches": 3})
    run = span(7, "agent_run", "subagent_start", agent_name="Explore", duration_ms=9400,
               status="success", metadata={"description": "Find how empty input is handled"})
    items.append(run)
    items += tool(7.5, 0.2, "Glob", {"pattern": "tests/**/test_parser*.py"},
                  ["tests/test_parser.py"], agent="Explore", parent=run.span_id)
    items += tool(8.2, 0.15, "Read", {"file_path": "tests/test_parser.py"}, {"lines": 96},
                  agent="Explore", parent=run.span_id)
    items.append(llm(9, 4.2, 8100, 620, "Empty input reaches tokenize() and raises IndexError."))
    items += tool(17, 0.3, "Edit", {"file_path": "src/acme/parser.py",
                                    "old_string": "tokens[0]", "new_string": "tokens[:1]"},
                  {"ok": True})
    items += tool(18, 6.8, "Bash", {"command": "pytest tests/test_parser.py -q"},
                  {"stdout": "1 failed, 11 passed", "exit_code": 1}, status="error",
                  err={"message": "Command exited with code 1"})
    items.append(llm(25.5, 2.6, 9400, 280, "One case still fails: whitespace-only input."))
    items += tool(28.5, 0.25, "Edit", {"file_path": "src/acme/parser.py",
                                       "old_string": "if not text", "new_string":
                                       "if not text.strip()"}, {"ok": True})
    items += tool(29, 5.9, "Bash", {"command": "pytest tests/test_parser.py -q"},
                  {"stdout": "12 passed", "exit_code": 0})
    items.append(llm(35.5, 1.9, 9900, 140, "Fixed: empty and whitespace-only input now parse."))
    items.append(span(38, "session", "stop", status="success"))
    return items


async def seed(pool) -> World:
    now = datetime.now(UTC).replace(microsecond=0)
    rnd = random.Random(7)
    pw = await auth_sessions.hash_password(PASSWORD)
    tag = uuid.uuid4().hex[:8]
    email, eve_email, member_email = (f"{n}-{tag}@example.com" for n in ("ada", "eve", "bob"))
    ada = await accounts.create_user(pool, email, "Ada Lovelace", pw)
    bob = await accounts.create_user(pool, member_email, "Bob Member", pw)
    acme = (await accounts.create_owned_project(pool, ada, "Acme Support Bot")).project_id
    sandbox = (await accounts.create_owned_project(pool, ada, "Sandbox")).project_id
    await accounts.add_member(pool, acme, bob, "user")
    eve = await accounts.create_user(pool, eve_email, "Eve", pw)
    eve_project = (await accounts.create_owned_project(pool, eve, "Eve Corp")).project_id

    items: list = []
    chats = [_chat(i, now, rnd, f"conv-{4800 + i // 4}" if i % 3 else None) for i in range(70)]
    tool_trace = _tool_call_trace(now)
    items += [(acme, r) for r in chats + [tool_trace]]
    items += [(acme, r) for r in _agent(now - timedelta(minutes=50))]
    items += [(sandbox, TraceRecord(
        trace_id=uuid.uuid4(), timestamp=now - timedelta(hours=h), provider="mistral",
        model_requested="mistral-large-latest", request_body={"messages": []},
        status="success", latency_ms=900.0, input_tokens=100, output_tokens=20,
        cost_cents=Decimal("0.05"), metadata={"cost_source": "client"})) for h in range(1, 6)]
    eve_trace = TraceRecord(
        trace_id=uuid.uuid4(), timestamp=now - timedelta(minutes=10), provider="openai",
        model_requested="gpt-eve-secret", request_body={"messages": [
            {"role": "user", "content": SECRET}]}, status="success", latency_ms=100.0,
        session_id=AGENT_SESSION, metadata={"cost_source": "client"},
        cost_cents=Decimal("1"))
    items.append((eve_project, eve_trace))
    await write_records(pool, items)
    error_trace = next(c for c in chats if c.status == "error").trace_id
    return World(email, acme, sandbox, eve_email, eve_project, eve_trace.trace_id, member_email,
                 error_trace, tool_trace.trace_id)
