"""End to end with the real OpenTelemetry Python SDK (issue 3): a TracerProvider exporting GenAI
spans over OTLP **gRPC** and over OTLP **HTTP/protobuf**, and a LoggerProvider exporting a Claude
Code-style event over OTLP/HTTP. The rows must come back from the query API.

The SDK exporters are synchronous, and the server under test runs on this test's event loop, so
every SDK call runs in a worker thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from tests.helpers import eventually
from tests.support.otlp import rows


def emit_agent_run(exporter, conversation: str) -> None:
    """invoke_agent -> chat (LLM call) + execute_tool, as GenAI semconv 1.40+ instrumentations
    emit them."""
    provider = TracerProvider(resource=Resource.create({"service.name": "sdk-e2e"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests.e2e", "1.0")
    with tracer.start_as_current_span("invoke_agent weather-bot", kind=SpanKind.INTERNAL) as agent:
        agent.set_attributes({
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "weather-bot",
            "gen_ai.provider.name": "openai",
            "gen_ai.conversation.id": conversation,
        })
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as chat:
            chat.set_attributes({
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.response.id": "chatcmpl-sdk-e2e",
                "gen_ai.response.finish_reasons": ["tool_calls"],
                "gen_ai.usage.input_tokens": 1200,
                "gen_ai.usage.output_tokens": 80,
                "gen_ai.conversation.id": conversation,
                "server.address": "api.openai.com",
            })
        with tracer.start_as_current_span("execute_tool get_weather") as tool:
            tool.set_attributes({
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "get_weather",
                "gen_ai.tool.call.id": "call_sdk_1",
                "gen_ai.tool.call.arguments": '{"city": "Paris"}',
                "gen_ai.tool.call.result": '{"temp_c": 14}',
                "gen_ai.conversation.id": conversation,
            })
    assert provider.force_flush(10_000)
    provider.shutdown()


async def check_rows(http, project, conversation: str) -> None:
    async def probe():
        return await rows(http, project, "traces"), await rows(http, project, "spans")

    traces, spans = await eventually(probe, lambda r: len(r[0]) >= 1 and len(r[1]) >= 2)
    assert len(traces) == 1, traces
    t = traces[0]
    assert t["provider"] == "openai"
    assert (t["modelRequested"], t["modelUsed"]) == ("gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    assert (t["inputTokens"], t["outputTokens"]) == (1200, 80)
    assert t["providerRequestId"] == "chatcmpl-sdk-e2e"
    assert t["sessionId"] == conversation
    assert t["status"] == "success"
    assert t["costCents"] and float(t["costCents"]) > 0
    assert t["metadata"]["cost_source"] == "computed"
    assert t["serviceName"] == "sdk-e2e"
    by_kind = {s["kind"]: s for s in spans}
    assert set(by_kind) == {"agent_run", "tool_use"}, spans
    assert by_kind["agent_run"]["agentName"] == "weather-bot"
    tool = by_kind["tool_use"]
    assert (tool["toolName"], tool["toolUseId"]) == ("get_weather", "call_sdk_1")
    assert tool["toolInput"] == {"city": "Paris"}
    assert tool["parentSpanId"] == by_kind["agent_run"]["spanId"]
    assert t["otelParentSpanId"] == by_kind["agent_run"]["otelSpanId"]


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_sdk_trace_exporters(http, server, grpc_target, project, transport):
    conversation = f"conv-{uuid.uuid4().hex[:8]}"
    if transport == "grpc":
        exporter = GrpcSpanExporter(
            endpoint=grpc_target, insecure=True,
            headers=(("authorization", f"Bearer {project.key}"),), timeout=10,
        )
    else:
        exporter = HttpSpanExporter(
            endpoint=f"{server}/v1/traces",
            headers={"authorization": f"Bearer {project.key}"}, timeout=10,
        )
    await asyncio.to_thread(emit_agent_run, exporter, conversation)
    await check_rows(http, project, conversation)


def emit_claude_code_event(url: str, key: str, session: str) -> None:
    provider = LoggerProvider(
        resource=Resource.create({"service.name": "claude-code", "service.version": "2.1.220"})
    )
    exporter = OTLPLogExporter(
        endpoint=f"{url}/v1/logs", headers={"authorization": f"Bearer {key}"}, timeout=10
    )
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("com.anthropic.claude_code.events", "2.1.220")
    logger.emit(
        body="claude_code.api_request",
        attributes={
            "event.name": "api_request",
            "event.timestamp": "2026-08-20T10:00:02.410Z",
            "event.sequence": 1,
            "session.id": session,
            "prompt.id": str(uuid.uuid4()),
            "model": "claude-sonnet-4-5-20250929",
            "input_tokens": "10",
            "output_tokens": "50",
            "cache_read_tokens": "1000",
            "cache_creation_tokens": "0",
            "cost_usd": "0.0012",
            "duration_ms": "1500",
            "request_id": "req_sdk_e2e",
            "query_source": "repl_main_thread",
        },
    )
    assert provider.force_flush(10_000)
    provider.shutdown()


async def test_sdk_log_exporter_claude_code_event(http, server, project):
    session = str(uuid.uuid4())
    await asyncio.to_thread(emit_claude_code_event, server, project.key, session)

    traces = await eventually(lambda: rows(http, project, "traces"), lambda r: len(r) >= 1)
    assert len(traces) == 1, traces
    t = traces[0]
    assert t["provider"] == "anthropic"
    assert t["modelRequested"] == "claude-sonnet-4-5-20250929"
    assert t["sessionId"] == session
    assert (t["inputTokens"], t["outputTokens"]) == (1010, 50)
    assert t["providerRequestId"] == "req_sdk_e2e"
    assert abs(float(t["costCents"]) - 0.12) < 1e-9
    assert t["latencyMs"] == 1500
