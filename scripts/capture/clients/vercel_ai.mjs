// Vercel AI SDK 6 (ai + @ai-sdk/anthropic) with experimental_telemetry, traced by the
// OTel Node SDK to OTLP/HTTP protobuf (endpoint from OTEL_EXPORTER_OTLP_ENDPOINT).
// Calls: 1 generateText, 2 streamText, 3 generateText with a tool (two steps).
// The fake Anthropic server answers with usage.cache_read_input_tokens = 2048.
import { NodeSDK } from "@opentelemetry/sdk-node";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { createAnthropic } from "@ai-sdk/anthropic";
import { generateText, streamText, tool, stepCountIs } from "ai";
import { z } from "zod";

const sdk = new NodeSDK({ traceExporter: new OTLPTraceExporter() });
sdk.start();

const anthropic = createAnthropic({
  baseURL: process.env.FAKE_BASE_URL + "/v1",
  apiKey: "sk-ant-capture-fake",
});
const model = anthropic("claude-sonnet-4-5-20250929");
const telemetry = (functionId) => ({ isEnabled: true, functionId, metadata: { capture: "vercel-ai" } });

await generateText({ model, prompt: "Say hello", experimental_telemetry: telemetry("hello") });

const stream = streamText({ model, prompt: "Say hello, streamed", experimental_telemetry: telemetry("hello-stream") });
for await (const _ of stream.textStream) { /* drain */ }

await generateText({
  model,
  prompt: "What is the weather in Paris?",
  tools: {
    get_weather: tool({
      description: "Current weather for a city",
      inputSchema: z.object({ location: z.string() }),
      execute: async ({ location }) => ({ location, temp_c: 22, sky: "sunny" }),
    }),
  },
  stopWhen: stepCountIs(3),
  experimental_telemetry: telemetry("weather"),
});

await sdk.shutdown();
