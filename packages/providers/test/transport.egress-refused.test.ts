import { EgressPolicy, EMPTY_ALLOWLIST } from "@gatehouse/egress";
import { type MockUpstream, startOpenAIUpstream } from "@gatehouse/mock-upstreams";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProviderClient } from "../src/index.js";
import { FAST, HELLO_CHAT, rejection, signal } from "./conformance/cases.js";

const input = HELLO_CHAT;
const DEFAULT_POLICY = new EgressPolicy({ allow: EMPTY_ALLOWLIST, allowLoopback: false });

let upstream: MockUpstream;
beforeAll(async () => {
  upstream = await startOpenAIUpstream();
});
afterAll(async () => {
  await upstream.close();
});

describe("transport: the egress policy", () => {
  it.each([
    ["an IP literal", (port: string) => `http://127.0.0.1:${port}/v1`],
    ["a name resolving to loopback", (port: string) => `http://localhost:${port}/v1`],
  ])("refuses %s by default: upstream_not_allowed, never retried, nothing sent", async (_, url) => {
    const port = new URL(upstream.url).port;
    const client = createProviderClient(
      {
        name: "internal",
        type: "openai",
        baseUrl: url(port),
        credentials: { apiKey: "sk-stolen" },
        options: {},
      },
      { ...FAST, egress: DEFAULT_POLICY, maxRetries: 2, retryBaseDelayMs: 20_000 },
    );
    const started = Date.now();
    const error = await rejection(client.invoke(input, signal()));
    expect(error.code).toBe("upstream_not_allowed");
    expect(error.status).toBe(502);
    expect(error.message).toBe(
      "the provider for account internal is at an address this gateway's egress policy refuses",
    );
    expect(error.detail).toContain("127.0.0.1");
    // A retry would first wait at least 10 s (half the 20 s base): answering well before proves none.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(upstream.requests).toHaveLength(0);
    expect(upstream.connectionsOpen).toBe(0);
    await client.close();
  });

  it("lets an allow-listed self-hosted upstream through", async () => {
    const client = createProviderClient(
      {
        name: "vllm",
        type: "openai",
        baseUrl: `${upstream.url}`,
        credentials: { apiKey: upstream.apiKey },
        options: {},
      },
      FAST,
    );
    expect((await client.invoke(input, signal())).kind).toBe("json");
    expect(upstream.requests).toHaveLength(1);
    await client.close();
  });
});
