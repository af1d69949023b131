"""End to end with ``opentelemetry-instrumentation-openai-v2``: the real ``openai`` client, pointed
(``base_url``) at a fake OpenAI server on loopback, instrumented by the official OpenTelemetry
instrumentation, exporting over OTLP/HTTP to Pulse Bridge. The trace must carry provider, models,
tokens, request/response content and a computed cost.

Content capture: with ``opentelemetry-util-genai`` >= 1.x the instrumentation always takes the
"latest experimental" GenAI path, where ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
must be ``span_only`` / ``span_and_event`` (``true`` is no longer understood there and captures
nothing).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

openai = pytest.importorskip("openai")
openai_v2 = pytest.importorskip("opentelemetry.instrumentation.openai_v2")

from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: E402
    OTLPSpanExporter,
)
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402

from tests.helpers import eventually  # noqa: E402
from tests.support.otlp import rows  # noqa: E402

COMPLETION = {
    "id": "chatcmpl-fake0001",
    "object": "chat.completion",
    "created": 1787220000,
    "model": "gpt-4o-mini-2024-07-18",
    "system_fingerprint": "fp_fake",
    "choices": [{
        "index": 0,
        "message": {"role": "assistant", "content": "Bonjour ! Il fait 14 degrés."},
        "finish_reason": "stop",
        "logprobs": None,
    }],
    "usage": {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30},
}


class _FakeOpenAI(BaseHTTPRequestHandler):
    requests: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        length = int(self.headers.get("content-length") or 0)
        _FakeOpenAI.requests.append(json.loads(self.rfile.read(length) or b"{}"))
        if self.path.rstrip("/") != "/v1/chat/completions":
            self.send_error(404)
            return
        body = json.dumps(COMPLETION).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass


@pytest.fixture
def fake_openai() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


def run_instrumented_chat(openai_url: str, pulse_url: str, key: str) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "openai-e2e"}))
    exporter = OTLPSpanExporter(
        endpoint=f"{pulse_url}/v1/traces", headers={"authorization": f"Bearer {key}"}, timeout=10
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = openai_v2.OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(base_url=openai_url, api_key="sk-test", max_retries=0)
        reply = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "Answer in French."},
                {"role": "user", "content": "What is the weather in Paris?"},
            ],
            temperature=0.2,
        )
        assert reply.choices[0].message.content.startswith("Bonjour")
    finally:
        instrumentor.uninstrument()
    assert provider.force_flush(10_000)
    provider.shutdown()


async def test_openai_v2_instrumentation(http, server, project, fake_openai, monkeypatch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "span_only")
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    await asyncio.to_thread(run_instrumented_chat, fake_openai, server, project.key)
    assert _FakeOpenAI.requests, "the openai client never reached the fake server"

    traces = await eventually(lambda: rows(http, project, "traces"), lambda r: len(r) >= 1)
    assert len(traces) == 1, traces
    t = traces[0]
    assert t["provider"] == "openai"
    assert t["modelRequested"] == "gpt-4o-mini"
    assert t["modelUsed"] == "gpt-4o-mini-2024-07-18"
    assert (t["inputTokens"], t["outputTokens"]) == (21, 9)
    assert t["providerRequestId"] == "chatcmpl-fake0001"
    assert t["finishReason"] == "stop"
    assert t["status"] == "success"
    assert t["outputText"] == "Bonjour ! Il fait 14 degrés."
    request_text = json.dumps(t["requestBody"])
    assert "What is the weather in Paris?" in request_text
    assert "Answer in French." in request_text
    assert "Bonjour" in json.dumps(t["responseBody"])
    assert float(t["costCents"]) > 0 and t["metadata"]["cost_source"] == "computed"
    assert t["serviceName"] == "openai-e2e"
