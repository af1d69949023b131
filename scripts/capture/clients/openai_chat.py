"""openai client + an instrumentor: four chat calls.

1 non-streamed text, 2 streamed text (include_usage), 3 a tool-call response,
4 the follow-up with the tool result. CAPTURE_INSTRUMENTOR=openai-v2 (default;
content mode from the environment, see scenarios.py) | openllmetry |
openllmetry-events (OpenLLMetry's OpenAIInstrumentor with use_attributes=False).
"""

import os

from otel_setup import setup

setup()

from openai import OpenAI  # noqa: E402

kind = os.environ.get("CAPTURE_INSTRUMENTOR", "openai-v2")
if kind == "openai-v2":
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    OpenAIInstrumentor().instrument()
else:
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor(use_attributes=kind != "openllmetry-events").instrument()
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
