"""Builders for valid native items; tests override the fields they are about."""

from __future__ import annotations

import uuid
from typing import Any


def trace_item(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "trace_id": str(uuid.uuid4()),
        "timestamp": "2026-01-25T12:00:00.000Z",
        "provider": "openai",
        "model_requested": "gpt-4o",
        "model_used": "gpt-4o-2024-08-06",
        "provider_request_id": "chatcmpl-abc",
        "request_body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]},
        "response_body": {"choices": [{"message": {"role": "assistant", "content": "Hello"}}]},
        "input_tokens": 1000,
        "output_tokens": 500,
        "output_text": "Hello",
        "finish_reason": "stop",
        "status": "success",
        "latency_ms": 812.5,
        "session_id": "conv-abc-123",
        "metadata": {"env": "test"},
    }
    item.update(overrides)
    return item


def span_item(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "span_id": str(uuid.uuid4()),
        "session_id": "sess-1",
        "timestamp": "2026-01-25T12:00:00Z",
        "duration_ms": 42,
        "source": "claude_code",
        "kind": "tool_use",
        "event_type": "post_tool_use",
        "status": "success",
        "tool_use_id": "toolu_01",
        "tool_name": "Bash",
        "tool_input": {"command": "ls"},
        "tool_response": {"stdout": "README.md"},
        "cwd": "/work",
        "model": "claude-sonnet-4-5",
        "agent_name": "main",
        "metadata": {"hook": "PostToolUse"},
    }
    item.update(overrides)
    return item
