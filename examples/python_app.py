"""A minimal OpenTelemetry-instrumented LLM app exporting to Pulse Bridge.

    pip install openai==3.57.0 opentelemetry-sdk==1.45.2 \
        opentelemetry-exporter-otlp-proto-http==1.45.2 opentelemetry-instrumentation==0.66b2 \
        opentelemetry-instrumentation-openai-v2==2.4b0 opentelemetry-util-genai==1.1b0
    source examples/python-app.env
    OPENAI_API_KEY=sk-... python examples/python_app.py

The versions are the ones pyproject.toml tests with (tests/test_examples.py keeps them equal):
newer opentelemetry-util-genai releases break opentelemetry-instrumentation-openai-v2 2.4b0.
The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT / _HEADERS / OTEL_SERVICE_NAME from the
environment. Each chat completion becomes a Pulse trace (provider, models, tokens, cost); the
surrounding `invoke_agent` span becomes an `agent_run` span. Without an OpenAI key the script
records a hand-made GenAI span instead, so you can try the pipeline offline.
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def setup() -> TracerProvider:
    provider = TracerProvider(resource=Resource.create())  # OTEL_SERVICE_NAME applies
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # endpoint from env
    trace.set_tracer_provider(provider)
    return provider


def ask_openai(question: str) -> str:
    from openai import OpenAI
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    OpenAIInstrumentor().instrument()
    reply = OpenAI().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
    )
    return reply.choices[0].message.content or ""


def fake_llm_span(tracer: trace.Tracer, question: str) -> str:
    """What a GenAI instrumentation records (semantic conventions >= 1.37)."""
    answer = "Paris: 14°C and rainy."
    with tracer.start_as_current_span("chat gpt-4o-mini", kind=trace.SpanKind.CLIENT) as span:
        span.set_attributes({
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.usage.input_tokens": 18,
            "gen_ai.usage.output_tokens": 9,
            "gen_ai.response.finish_reasons": ["stop"],
        })
    return answer


def main() -> None:
    provider = setup()
    tracer = trace.get_tracer("examples.python_app")
    question = "What's the weather in Paris? One line."
    with tracer.start_as_current_span("invoke_agent weather-helper") as agent:
        agent.set_attributes({
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "weather-helper",
            "gen_ai.conversation.id": "example-conversation-1",  # -> session_id
        })
        if os.environ.get("OPENAI_API_KEY"):
            print(ask_openai(question))
        else:
            print(fake_llm_span(tracer, question))
    provider.shutdown()  # flushes the batch processor


if __name__ == "__main__":
    main()
