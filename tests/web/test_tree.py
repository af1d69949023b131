"""Issue 15 acceptance 2 (trace tree): an OpenTelemetry agent trace exported by the real SDK
(agent -> 2 LLM calls and 1 tool) opens from its trace page as a tree nested as sent, each node
with its duration, the LLM calls with tokens and cost and the agent with the sum below it."""

from __future__ import annotations

import asyncio
import time

import orjson
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import set_span_in_context
from playwright.async_api import expect

from pulse.storage import accounts, queries
from tests.web.conftest import shot, sign_in

MS = 1_000_000  # ns


def export_agent_trace(endpoint: str, key: str) -> str:
    """agent (2 s) -> chat (400 ms), tool (250 ms), chat (600 ms); returns the OTel trace id."""
    exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces",
                                headers={"Authorization": f"Bearer {key}"})
    provider = TracerProvider(resource=Resource.create({"service.name": "tree-agent"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests.web.tree")
    t0 = time.time_ns() - 60_000 * MS
    conv = {"gen_ai.conversation.id": "tree-conv"}
    agent = tracer.start_span("invoke_agent planner", start_time=t0, attributes={
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner", **conv})
    ctx = set_span_in_context(agent)

    def chat(start_ms: int, dur_ms: int, tokens: int) -> None:
        s = tracer.start_span("chat gpt-4o-mini", context=ctx, start_time=t0 + start_ms * MS,
                              attributes={"gen_ai.operation.name": "chat",
                                          "gen_ai.provider.name": "openai",
                                          "gen_ai.request.model": "gpt-4o-mini",
                                          "gen_ai.usage.input_tokens": tokens,
                                          "gen_ai.usage.output_tokens": 20, **conv})
        s.end(end_time=t0 + (start_ms + dur_ms) * MS)

    chat(100, 400, 300)
    tool = tracer.start_span("execute_tool get_weather", context=ctx, start_time=t0 + 600 * MS,
                             attributes={"gen_ai.operation.name": "execute_tool",
                                         "gen_ai.tool.name": "get_weather",
                                         "gen_ai.tool.call.arguments": '{"city": "Paris"}',
                                         **conv})
    tool.end(end_time=t0 + 850 * MS)
    chat(1000, 600, 500)
    agent.end(end_time=t0 + 2000 * MS)
    trace_id = format(agent.get_span_context().trace_id, "032x")
    assert provider.force_flush(10_000)
    provider.shutdown()
    return trace_id


async def test_otel_agent_trace_tree(page, world, backend, pool, server):
    key = (await accounts.create_key(pool, world.acme, "tree test")).key
    otel_id = await asyncio.to_thread(export_agent_trace, server, key)
    for _ in range(200):  # the writer commits shortly after the ack
        traces, spans = await queries.otel_trace_records(pool, world.acme, otel_id, 10)
        if len(traces) == 2 and len(spans) == 2:
            break
        await asyncio.sleep(0.05)
    assert (len(traces), len(spans)) == (2, 2)
    chat = orjson.loads(traces[0])["traceId"]

    await sign_in(page, world.email)
    await page.goto(f"/dashboard/p/{world.acme}/traces/{chat}")
    await page.get_by_role("link", name="trace tree →").click()
    await page.wait_for_url(f"**/otel/{otel_id}")
    root = page.locator("#timeline > ol.steps > li.step")
    await expect(root).to_have_count(1)  # the agent run, and everything inside it
    await expect(root.locator("> details .kind")).to_have_text("agent")
    children = root.locator("> ol.nested > li.step")
    await expect(children).to_have_count(3)
    kinds = [await c.locator("> details .kind").text_content() for c in await children.all()]
    assert kinds == ["LLM", "tool", "LLM"]  # in the order they ran
    durations = [await c.locator("> details .dur").inner_text()
                 for c in await children.all()]
    assert durations == ["400 ms", "250 ms", "600 ms"]
    await expect(root.locator("> details .dur")).to_have_text("2.00 s")
    await expect(root.locator("> details .meta")).to_contain_text("Σ 840 tok")
    await expect(children.nth(0).locator("> details .meta")).to_contain_text("320 tok")
    await shot(page, "trace-tree", backend.name)
    assert not page.js_errors, page.js_errors
