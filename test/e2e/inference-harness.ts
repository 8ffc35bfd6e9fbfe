import Anthropic from "@anthropic-ai/sdk";
import { generateKey } from "@gatehouse/keys";
import {
  type MockUpstream,
  startAnthropicUpstream,
  startAzureUpstream,
  startGeminiUpstream,
  startOpenAIUpstream,
} from "@gatehouse/mock-upstreams";
import OpenAI from "openai";
import { startTestStack, type TestStack } from "../src/index.js";
import { grant, must, newVirtualAccount } from "./access-api.js";

/** One provider account per provider type, as the whole-stack inference tests use them. */
export interface ProviderSetup {
  type: "openai" | "azure-openai" | "anthropic" | "gemini" | "mock";
  /** Provider-account name. */
  account: string;
  chatModel: string;
  embeddingModel: string | undefined;
  completionModel: string | undefined;
  /** null for the built-in mock provider (no network). */
  upstream: MockUpstream | null;
}

export interface InferenceWorld {
  stack: TestStack;
  adminKey: string;
  /** A virtual account token granted `user` on every account below. */
  vat: string;
  vaId: string;
  providers: ProviderSetup[];
  byType(type: ProviderSetup["type"]): ProviderSetup;
  /** The OpenAI SDK as an app would configure it: base URL + gateway key, no SDK retries. */
  openai(key?: string, options?: ConstructorParameters<typeof OpenAI>[0]): OpenAI;
  /** The Anthropic SDK with `x-api-key` (its default) = the gateway key. */
  anthropic(key?: string, options?: ConstructorParameters<typeof Anthropic>[0]): Anthropic;
  stop(): Promise<void>;
}

/** Short upstream timeouts so hang tests finish quickly; undici's timers tick at ~0.5–1 s. */
export const FAST_UPSTREAM_ENV = {
  UPSTREAM_CONNECT_TIMEOUT_MS: "2000",
  UPSTREAM_FIRST_BYTE_TIMEOUT_MS: "1500",
  UPSTREAM_IDLE_TIMEOUT_MS: "3000",
  // A disabled/updated account is seen quickly; not relevant to these tests otherwise.
  ACCOUNT_CACHE_TTL_MS: "1000",
};

export async function startInferenceWorld(
  options: { env?: Record<string, string>; types?: ProviderSetup["type"][] } = {},
): Promise<InferenceWorld> {
  const adminKey = generateKey("pat");
  const types = options.types ?? ["openai", "azure-openai", "anthropic", "gemini", "mock"];
  const stack = await startTestStack({
    env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey, ...FAST_UPSTREAM_ENV, ...options.env },
  });
  const providers: ProviderSetup[] = [];
  const upstreams: MockUpstream[] = [];
  try {
    for (const type of types) {
      const setup = await createProviderAccount(stack, adminKey, type);
      if (setup.upstream) upstreams.push(setup.upstream);
      providers.push(setup);
    }
    const { va, key } = await newVirtualAccount(stack, adminKey, `inference-app-${Date.now()}`);
    for (const p of providers)
      await grant(stack, adminKey, p.account, { kind: "virtual_account", id: va.id });
    return {
      stack,
      adminKey,
      vat: key,
      vaId: va.id,
      providers,
      byType(type) {
        const found = providers.find((p) => p.type === type);
        if (!found) throw new Error(`no ${type} account in this world`);
        return found;
      },
      openai: (k = key, o = {}) => new OpenAI({ apiKey: k, baseURL: `${stack.url}/v1`, maxRetries: 0, ...o }),
      anthropic: (k = key, o = {}) => new Anthropic({ apiKey: k, baseURL: stack.url, maxRetries: 0, ...o }),
      async stop() {
        await stack.stop();
        await Promise.allSettled(upstreams.map((u) => u.close()));
      },
    };
  } catch (err) {
    await stack.stop();
    await Promise.allSettled(upstreams.map((u) => u.close()));
    throw err;
  }
}

/** The key each mock upstream accepts; distinct per provider so a test can see which one was used. */
const UPSTREAM_KEYS = {
  openai: "sk-upstream-openai-1234567890",
  "azure-openai": "azure-upstream-key-1234567890",
  anthropic: "sk-ant-upstream-1234567890",
  gemini: "AIzaUpstreamGemini1234567890",
} as const;

async function createProviderAccount(
  stack: TestStack,
  adminKey: string,
  type: ProviderSetup["type"],
): Promise<ProviderSetup> {
  const create = (body: Record<string, unknown>) =>
    must(stack, adminKey, "POST", "/api/v1/provider-accounts", body, 201);
  switch (type) {
    case "openai": {
      const upstream = await startOpenAIUpstream({ apiKey: UPSTREAM_KEYS.openai });
      await create({
        name: "openai-main",
        type,
        base_url: upstream.url,
        credentials: { api_key: upstream.apiKey },
        models: [
          { name: "gpt-4o-mini", kind: "chat" },
          { name: "text-embedding-3-small", kind: "embedding" },
          { name: "gpt-3.5-turbo-instruct", kind: "completion" },
        ],
      });
      return {
        type,
        account: "openai-main",
        chatModel: "gpt-4o-mini",
        embeddingModel: "text-embedding-3-small",
        completionModel: "gpt-3.5-turbo-instruct",
        upstream,
      };
    }
    case "azure-openai": {
      const upstream = await startAzureUpstream({ apiKey: UPSTREAM_KEYS["azure-openai"] });
      await create({
        name: "azure-eu",
        type,
        base_url: upstream.url,
        credentials: { api_key: upstream.apiKey },
        options: {
          api_version: "2024-10-21",
          deployments: { "gpt-4o": "prod-gpt4o", "text-embedding-3-large": "prod-embed" },
        },
        models: [
          { name: "gpt-4o", kind: "chat" },
          { name: "text-embedding-3-large", kind: "embedding" },
          { name: "davinci-002", kind: "completion" },
        ],
      });
      return {
        type,
        account: "azure-eu",
        chatModel: "gpt-4o",
        embeddingModel: "text-embedding-3-large",
        completionModel: "davinci-002",
        upstream,
      };
    }
    case "anthropic": {
      const upstream = await startAnthropicUpstream({ apiKey: UPSTREAM_KEYS.anthropic });
      await create({
        name: "anthropic-main",
        type,
        base_url: upstream.url,
        credentials: { api_key: upstream.apiKey },
        models: [{ name: "claude-sonnet-4-5", kind: "chat" }],
      });
      return {
        type,
        account: "anthropic-main",
        chatModel: "claude-sonnet-4-5",
        embeddingModel: undefined,
        completionModel: undefined,
        upstream,
      };
    }
    case "gemini": {
      const upstream = await startGeminiUpstream({ apiKey: UPSTREAM_KEYS.gemini });
      await create({
        name: "gemini-main",
        type,
        base_url: upstream.url,
        credentials: { api_key: upstream.apiKey },
        models: [
          { name: "gemini-2.5-flash", kind: "chat" },
          { name: "text-embedding-004", kind: "embedding" },
        ],
      });
      return {
        type,
        account: "gemini-main",
        chatModel: "gemini-2.5-flash",
        embeddingModel: "text-embedding-004",
        completionModel: undefined,
        upstream,
      };
    }
    case "mock": {
      await create({
        name: "mock-main",
        type,
        models: [
          { name: "echo", kind: "chat" },
          { name: "embed", kind: "embedding" },
          { name: "complete", kind: "completion" },
        ],
      });
      return {
        type,
        account: "mock-main",
        chatModel: "echo",
        embeddingModel: "embed",
        completionModel: "complete",
        upstream: null,
      };
    }
  }
}

/** Resolves with what `fn` threw (fails when it did not throw). */
export async function caught(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail");
}

export const WEATHER_TOOL = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    },
  },
};
