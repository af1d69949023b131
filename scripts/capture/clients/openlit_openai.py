"""openai client instrumented by OpenLIT (openlit.init), same four calls as openai_chat.py.

OpenLIT builds its own providers and exporters from otlp_endpoint; content
capture is on by default (capture_message_content=True).
"""

import os

import openlit
from openai import OpenAI

openlit.init(otlp_endpoint=os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"],
             application_name="capture-openlit", environment="capture",
             disable_metrics=True)

client = OpenAI(base_url=os.environ["FAKE_BASE_URL"] + "/v1", api_key="sk-capture-fake")
MODEL = "gpt-4o-mini"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                   "required": ["location"]}}}

client.chat.completions.create(model=MODEL, messages=[
    {"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hello"}])
stream = client.chat.completions.create(
    model=MODEL, stream=True, stream_options={"include_usage": True},
    messages=[{"role": "user", "content": "Say hello, streamed"}])
for _ in stream:
    pass
ask = [{"role": "user", "content": "What is the weather in Paris?"}]
first = client.chat.completions.create(model=MODEL, messages=ask, tools=[WEATHER])
call = first.choices[0].message.tool_calls[0]
client.chat.completions.create(model=MODEL, tools=[WEATHER], messages=ask + [
    {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
    {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 22, "sky": "sunny"}'},
])
