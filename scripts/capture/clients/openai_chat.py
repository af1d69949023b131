"""openai client + opentelemetry-instrumentation-openai-v2: four chat calls.

1 non-streamed text, 2 streamed text (include_usage), 3 a tool-call response,
4 the follow-up with the tool result. The content mode comes from the
environment the capture runner sets (see run.py scenarios).
"""

import os

from otel_setup import setup

setup()

from openai import OpenAI  # noqa: E402
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor  # noqa: E402

OpenAIInstrumentor().instrument()
client = OpenAI(base_url=os.environ["FAKE_BASE_URL"] + "/v1", api_key="sk-capture-fake")
MODEL = "gpt-4o-mini"
SYSTEM = {"role": "system", "content": "You are terse."}
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                   "required": ["location"]}}}

client.chat.completions.create(model=MODEL,
                               messages=[SYSTEM, {"role": "user", "content": "Say hello"}])

stream = client.chat.completions.create(
    model=MODEL, messages=[SYSTEM, {"role": "user", "content": "Say hello, streamed"}],
    stream=True, stream_options={"include_usage": True})
for _ in stream:
    pass

ask = [{"role": "user", "content": "What is the weather in Paris?"}]
first = client.chat.completions.create(model=MODEL, messages=ask, tools=[WEATHER])
call = first.choices[0].message.tool_calls[0]
client.chat.completions.create(model=MODEL, tools=[WEATHER], messages=ask + [
    {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
    {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 22, "sky": "sunny"}'},
])
