"""An agent run built with the OTel SDK directly, exported by a SimpleSpanProcessor.

invoke_agent (with gen_ai.conversation.id) -> chat, execute_tool, chat. Each
span is exported when it ends, so the three children reach the receiver
before their parent, each in its own export request. The child spans carry
no conversation id: only the parent does, as agent frameworks emit it.
"""

import time

from opentelemetry.trace import SpanKind
from otel_setup import setup

provider = setup(with_logs=False)
tracer = provider.get_tracer("capture.agent", "1.0.0")
CONV = "conv_5f1c2a9e-capture"


def chat(response_id: str, finish: str, inp: int, out: int) -> None:
    with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as span:
        span.set_attributes({
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.response.id": response_id,
            "gen_ai.response.finish_reasons": [finish],
            "gen_ai.usage.input_tokens": inp, "gen_ai.usage.output_tokens": out,
        })
        time.sleep(0.05)


with tracer.start_as_current_span("invoke_agent weather_agent") as agent:
    agent.set_attributes({
        "gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "openai",
        "gen_ai.agent.name": "weather_agent", "gen_ai.agent.id": "agent_weather_1",
        "gen_ai.conversation.id": CONV, "gen_ai.request.model": "gpt-4o-mini",
    })
    chat("chatcmpl-CBEFORE0001capture", "tool_calls", 82, 17)
    with tracer.start_as_current_span("execute_tool get_weather") as tool:
        tool.set_attributes({
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather",
            "gen_ai.tool.call.id": "call_capture0001", "gen_ai.tool.type": "function",
        })
        time.sleep(0.02)
    chat("chatcmpl-CBEFORE0002capture", "stop", 120, 14)
