import type { GatehouseError } from "@gatehouse/contracts";
import { EgressPolicy, parseEgressAllowlist } from "@gatehouse/egress";
import {
  type MockUpstream,
  startAnthropicUpstream,
  startAzureUpstream,
  startGeminiUpstream,
  startOpenAIUpstream,
} from "@gatehouse/mock-upstreams";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import {
  type ClientOptions,
  createProviderClient,
  type InvokeInput,
  type InvokeResult,
  type ProviderAccount,
  type ProviderClient,
  type ProviderType,
} from "../../src/index.js";

/** What each adapter claims to do; the conformance tests run exactly the ones it claims. */
export interface Capabilities {
  chat: boolean;
  stream: boolean;
  tools: boolean;
  embeddings: boolean;
  completions: boolean;
  /** Talks HTTP to an upstream (so error, retry, timeout and abort behaviour applies). */
  http: boolean;
}

export interface ProviderCase {
  type: ProviderType;
  model: string;
  caps: Capabilities;
  startUpstream(): Promise<MockUpstream | null>;
  account(upstream: MockUpstream | null, apiKey?: string): ProviderAccount;
}

const all = { chat: true, stream: true, tools: true, embeddings: true, completions: true, http: true };

export const CASES: ProviderCase[] = [
  {
    type: "openai",
    model: "gpt-4o-mini",
    caps: all,
    startUpstream: () => startOpenAIUpstream({ apiKey: "sk-test-openai-key-123456" }),
    account: (u, apiKey) => ({
      name: "openai-main",
      type: "openai",
      baseUrl: u?.url ?? null,
      credentials: { apiKey: apiKey ?? u?.apiKey ?? "" },
      options: {},
    }),
  },
  {
    type: "azure-openai",
    model: "gpt-4o",
    caps: all,
    startUpstream: () => startAzureUpstream({ apiKey: "azure-test-key-123456" }),
    account: (u, apiKey) => ({
      name: "azure-eu",
      type: "azure-openai",
      baseUrl: u?.url ?? null,
      credentials: { apiKey: apiKey ?? u?.apiKey ?? "" },
      options: { apiVersion: "2024-10-21", deployments: { "gpt-4o": "prod-gpt4o" } },
    }),
  },
  {
    type: "anthropic",
    model: "claude-sonnet-4-5",
    caps: { ...all, embeddings: false, completions: false },
    startUpstream: () => startAnthropicUpstream({ apiKey: "sk-ant-test-key-123456" }),
    account: (u, apiKey) => ({
      name: "anthropic-main",
      type: "anthropic",
      baseUrl: u?.url ?? null,
      credentials: { apiKey: apiKey ?? u?.apiKey ?? "" },
      options: {},
    }),
  },
  {
    type: "gemini",
    model: "gemini-2.5-flash",
    caps: { ...all, completions: false },
    startUpstream: () => startGeminiUpstream({ apiKey: "AIzaTestKey1234567890" }),
    account: (u, apiKey) => ({
      name: "gemini-main",
      type: "gemini",
      baseUrl: u?.url ?? null,
      credentials: { apiKey: apiKey ?? u?.apiKey ?? "" },
      options: {},
    }),
  },
  {
    type: "mock",
    model: "echo-1",
    caps: { ...all, http: false },
    startUpstream: async () => null,
    account: () => ({ name: "mock-demo", type: "mock", baseUrl: null, credentials: {}, options: {} }),
  },
];

export const HTTP_CASES = CASES.filter((c) => c.caps.http);

/** The mock upstreams listen on 127.0.0.1: allowed as an operator allows a self-hosted upstream. */
export const LOOPBACK_ALLOWED = new EgressPolicy({
  allow: parseEgressAllowlist("127.0.0.1/32"),
  allowLoopback: false,
});

export const FAST: ClientOptions = {
  egress: LOOPBACK_ALLOWED,
  connectTimeoutMs: 1_000,
  firstByteTimeoutMs: 2_000,
  idleTimeoutMs: 2_000,
  maxRetries: 2,
  retryBaseDelayMs: 5,
};

/** Starts the case's upstream once per file, a fresh client per test, and resets scripted behaviour. */
export function useProvider(c: ProviderCase) {
  const ctx = {
    upstream: null as MockUpstream | null,
    clients: [] as ProviderClient[],
    client(options: Partial<ClientOptions> = {}, apiKey?: string): ProviderClient {
      const client = createProviderClient(c.account(ctx.upstream, apiKey), { ...FAST, ...options });
      ctx.clients.push(client);
      return client;
    },
    get up(): MockUpstream {
      if (ctx.upstream === null) throw new Error("this case has no upstream");
      return ctx.upstream;
    },
  };
  beforeAll(async () => {
    ctx.upstream = await c.startUpstream();
  });
  afterEach(async () => {
    await Promise.all(ctx.clients.map((client) => client.close()));
    ctx.clients = [];
    ctx.upstream?.reset();
  });
  afterAll(async () => {
    await ctx.upstream?.close();
  });
  return ctx;
}

export function chatInput(c: ProviderCase, body: Record<string, unknown>, stream = false): InvokeInput {
  return { operation: "chat", dialect: "openai", model: c.model, body: { ...body, stream }, stream };
}

export const HELLO = { messages: [{ role: "user", content: "Say hello" }] };

/** A plain non-streaming OpenAI-dialect chat call, for transport tests. */
export const HELLO_CHAT: InvokeInput = {
  operation: "chat",
  dialect: "openai",
  model: "m",
  body: HELLO,
  stream: false,
};

export const WEATHER_TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

export async function collectFrames(result: InvokeResult): Promise<string[]> {
  if (result.kind !== "stream") throw new Error("expected a stream");
  const frames: string[] = [];
  for await (const frame of result.frames) frames.push(frame);
  return frames;
}

/** The JSON payloads of OpenAI-dialect frames, without the final [DONE]. */
export function openAIPayloads(frames: string[]): Array<Record<string, unknown>> {
  expect(frames.at(-1)).toBe("data: [DONE]\n\n");
  return frames.slice(0, -1).map((frame) => {
    expect(frame.startsWith("data: ")).toBe(true);
    expect(frame.endsWith("\n\n")).toBe(true);
    return JSON.parse(frame.slice("data: ".length)) as Record<string, unknown>;
  });
}

type Delta = {
  content?: string;
  tool_calls?: Array<{ index: number; id?: string; function?: { name?: string; arguments?: string } }>;
};

/** Reassembles text and tool calls from chat chunks, as an SDK would. */
export function assemble(payloads: Array<Record<string, unknown>>) {
  let text = "";
  const tools: Array<{ id: string; name: string; arguments: string }> = [];
  let finish: string | null = null;
  for (const payload of payloads) {
    for (const choice of (payload.choices ?? []) as Array<{ delta: Delta; finish_reason: string | null }>) {
      text += choice.delta.content ?? "";
      for (const call of choice.delta.tool_calls ?? []) {
        const slot = tools[call.index] ?? { id: "", name: "", arguments: "" };
        tools[call.index] = slot;
        if (call.id) slot.id = call.id;
        if (call.function?.name) slot.name += call.function.name;
        slot.arguments += call.function?.arguments ?? "";
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  return { text, tools, finish };
}

export async function rejection(promise: Promise<unknown>): Promise<GatehouseError> {
  try {
    await promise;
  } catch (error) {
    return error as GatehouseError;
  }
  throw new Error("expected a rejection");
}

export const signal = (): AbortSignal => new AbortController().signal;
