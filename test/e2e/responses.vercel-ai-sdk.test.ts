import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InferenceWorld, startInferenceWorld } from "./inference-harness.js";

let world: InferenceWorld;

beforeAll(async () => {
  world = await startInferenceWorld({ types: ["openai", "mock"] });
}, 30_000);
afterAll(async () => {
  await world?.stop();
});

/** The Vercel AI SDK as its docs configure it: base URL + key, and the default `openai(model)` provider. */
const openai = () => createOpenAI({ baseURL: `${world.stack.url}/v1`, apiKey: world.vat });

describe("Vercel AI SDK, default openai(model) provider (the Responses API)", () => {
  it("generateText answers through the mock account", async () => {
    const result = await generateText({ model: openai()("mock-main/echo"), prompt: "hello", maxRetries: 0 });
    expect(result.text).toBe("mock: hello");
    expect(result.finishReason).toBe("stop");
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
  });

  it("streamText streams the same answer", async () => {
    const result = streamText({ model: openai()("mock-main/echo"), prompt: "hello again", maxRetries: 0 });
    let text = "";
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe("mock: hello again");
    expect((await result.usage).outputTokens).toBeGreaterThan(0);
    expect(await result.finishReason).toBe("stop");
  });

  it("reaches an OpenAI account's own /v1/responses, streamed and not", async () => {
    const upstream = world.byType("openai").upstream;
    const generated = await generateText({
      model: openai()("openai-main/gpt-4o-mini"),
      prompt: "hi",
      maxRetries: 0,
    });
    expect(generated.text).toBe("Hello from the mock upstream.");
    expect(upstream?.requests.at(-1)?.path).toBe("/v1/responses");
    const streamed = streamText({ model: openai()("openai-main/gpt-4o-mini"), prompt: "hi", maxRetries: 0 });
    let text = "";
    for await (const delta of streamed.textStream) text += delta;
    expect(text).toBe("Hello from the mock upstream.");
    expect(upstream?.requests.at(-1)).toMatchObject({ path: "/v1/responses", body: { stream: true } });
  });
});
