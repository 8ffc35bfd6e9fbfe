import { startAnthropicUpstream, startGeminiUpstream, startOpenAIUpstream } from "@gatehouse/mock-upstreams";
import { describe, expect, it } from "vitest";
import { createProviderClient } from "../src/index.js";
import { FAST, HELLO_CHAT, rejection, signal } from "./conformance/cases.js";

const input = HELLO_CHAT;

async function freePort(): Promise<number> {
  const probe = await startOpenAIUpstream();
  const port = Number(new URL(probe.url).port);
  await probe.close();
  return port;
}

describe("transport", () => {
  it("reuses pooled keep-alive connections instead of one per call", async () => {
    const upstream = await startOpenAIUpstream();
    const client = createProviderClient(
      {
        name: "o",
        type: "openai",
        baseUrl: upstream.url,
        credentials: { apiKey: upstream.apiKey },
        options: {},
      },
      FAST,
    );
    for (let i = 0; i < 20; i++) await client.invoke(input, signal());
    expect(upstream.requests).toHaveLength(20);
    // undici may open a second socket while the first is still finishing a response; never one per call.
    expect(upstream.connectionsOpen).toBeLessThanOrEqual(2);
    expect(upstream.connectionsClosed).toBe(0);
    await client.close();
    await upstream.close();
  });

  it("maps a refused connection to provider_error without naming the URL", async () => {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}/v1`;
    const client = createProviderClient(
      { name: "gone", type: "openai", baseUrl, credentials: { apiKey: "k" }, options: {} },
      { ...FAST, maxRetries: 1 },
    );
    const error = await rejection(client.invoke(input, signal()));
    expect(error.code).toBe("provider_error");
    expect(error.message).toBe("could not reach the provider for account gone");
    expect(error.message).not.toContain(String(port));
    await client.close();
  });

  it("retries a connect error and succeeds once the upstream is up", async () => {
    const port = await freePort();
    const client = createProviderClient(
      {
        name: "late",
        type: "openai",
        baseUrl: `http://127.0.0.1:${port}/v1`,
        credentials: { apiKey: "test-key" },
        options: {},
      },
      { ...FAST, maxRetries: 2, retryBaseDelayMs: 200 },
    );
    const pending = client.invoke(input, signal());
    const upstream = await startOpenAIUpstream({ port });
    const result = await pending;
    expect(result.kind).toBe("json");
    expect(upstream.requests).toHaveLength(1);
    await client.close();
    await upstream.close();
  });
});

describe("transport: streams", () => {
  it.each([
    ["openai", () => startOpenAIUpstream()],
    ["anthropic", () => startAnthropicUpstream()],
    ["gemini", () => startGeminiUpstream()],
  ] as const)("%s: finished streams give their connection back to the pool", async (type, start) => {
    const upstream = await start();
    const client = createProviderClient(
      { name: "s", type, baseUrl: upstream.url, credentials: { apiKey: upstream.apiKey }, options: {} },
      FAST,
    );
    for (let i = 0; i < 10; i++) {
      const result = await client.invoke({ ...input, stream: true }, signal());
      if (result.kind === "stream") for await (const _ of result.frames);
    }
    expect(upstream.requests).toHaveLength(10);
    expect(upstream.connectionsOpen).toBeLessThanOrEqual(2);
    expect(upstream.connectionsClosed).toBe(0);
    await client.close();
    await upstream.close();
  });
});
