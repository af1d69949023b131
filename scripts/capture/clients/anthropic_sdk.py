"""anthropic SDK (its own spans are on by default) + an optional instrumentor.

CAPTURE_INSTRUMENTOR=openllmetry | openllmetry-events (use_attributes=False: content
as per-message log events) | openinference | none. Calls: 1 non-streamed
text, 2 streamed text (messages.stream), 3 a tool_use response, 4 the
follow-up with the tool_result.
"""

import os

from otel_setup import setup

setup()

kind = os.environ.get("CAPTURE_INSTRUMENTOR", "none")
if kind == "openllmetry":
    from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor

    AnthropicInstrumentor().instrument()
elif kind == "openllmetry-events":
    from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor

    AnthropicInstrumentor(use_attributes=False).instrument()
elif kind == "openinference":
    from openinference.instrumentation.anthropic import AnthropicInstrumentor

    AnthropicInstrumentor().instrument()

import anthropic  # noqa: E402

client = anthropic.Anthropic(base_url=os.environ["FAKE_BASE_URL"], api_key="sk-ant-capture-fake")
MODEL = "claude-sonnet-4-5-20250929"
WEATHER = {"name": "get_weather", "description": "Current weather for a city",
           "input_schema": {"type": "object", "properties": {"location": {"type": "string"}},
                            "required": ["location"]}}

client.messages.create(model=MODEL, max_tokens=256, system="You are terse.",
                       messages=[{"role": "user", "content": "Say hello"}])

with client.messages.stream(model=MODEL, max_tokens=256,
                            messages=[{"role": "user", "content": "Say hello, streamed"}]) as s:
    for _ in s.text_stream:
        pass

ask = [{"role": "user", "content": "What is the weather in Paris?"}]
first = client.messages.create(model=MODEL, max_tokens=256, tools=[WEATHER], messages=ask)
use = next(b for b in first.content if b.type == "tool_use")
client.messages.create(model=MODEL, max_tokens=256, tools=[WEATHER], messages=ask + [
    {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                  "content": '{"temp_c": 22, "sky": "sunny"}'}]},
])
