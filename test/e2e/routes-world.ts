import { createServer } from "node:net";
import { generateKey } from "@gatehouse/keys";
import { type MockUpstream, startOpenAIUpstream } from "@gatehouse/mock-upstreams";
import OpenAI from "openai";
import postgres from "postgres";
import { startTestStack, type TestStack } from "../src/index.js";
import { must, newVirtualAccount } from "./access-api.js";
import { FAST_UPSTREAM_ENV } from "./inference-harness.js";

/** Three OpenAI-compatible accounts (`up-a`, `up-b`, `up-c`) on their own mock upstreams, and one that refuses connections. */
export interface RoutesWorld {
  stack: TestStack;
  adminKey: string;
  /** A virtual account (no grants yet) and its key. */
  vaId: string;
  vat: string;
  up: Record<"a" | "b" | "c", MockUpstream>;
  sql: postgres.Sql;
  openai(key?: string): OpenAI;
  /** Creates a route as the admin; answers the REST body. */
  route(body: Record<string, unknown>): Promise<{ name: string }>;
  /** Grants the world's virtual account `user` on a route. */
  grantRoute(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** A port nothing listens on: connecting to it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || address === null) throw new Error("no port");
  return address.port;
}

const MODELS = [
  { name: "gpt", kind: "chat" },
  { name: "emb", kind: "embedding" },
  { name: "inst", kind: "completion" },
];

export async function startRoutesWorld(env: Record<string, string> = {}): Promise<RoutesWorld> {
  const adminKey = generateKey("pat");
  const stack = await startTestStack({
    env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey, ...FAST_UPSTREAM_ENV, ...env },
  });
  const up = {
    a: await startOpenAIUpstream({ apiKey: "sk-up-a-123456789" }),
    b: await startOpenAIUpstream({ apiKey: "sk-up-b-123456789" }),
    c: await startOpenAIUpstream({ apiKey: "sk-up-c-123456789" }),
  };
  const create = (name: string, url: string, apiKey: string) =>
    must(
      stack,
      adminKey,
      "POST",
      "/api/v1/provider-accounts",
      { name, type: "openai", base_url: url, credentials: { api_key: apiKey }, models: MODELS },
      201,
    );
  for (const [id, u] of Object.entries(up)) await create(`up-${id}`, u.url, u.apiKey);
  await create("up-dead", `http://127.0.0.1:${await closedPort()}/v1`, "sk-dead-123456789");
  const { va, key } = await newVirtualAccount(stack, adminKey, `routes-app-${Date.now()}`);
  const sql = postgres(stack.env.DATABASE_URL ?? "", { max: 1, onnotice: () => {} });
  return {
    stack,
    adminKey,
    vaId: va.id,
    vat: key,
    up,
    sql,
    openai: (k = key) => new OpenAI({ apiKey: k, baseURL: `${stack.url}/v1`, maxRetries: 0 }),
    route: (body) => must(stack, adminKey, "POST", "/api/v1/routes", body, 201),
    async grantRoute(name) {
      await must(
        stack,
        adminKey,
        "POST",
        `/api/v1/routes/${name}/grants`,
        { subject: { kind: "virtual_account", id: va.id }, role: "user" },
        201,
      );
    },
    async stop() {
      await sql.end({ timeout: 2 });
      await stack.stop();
      await Promise.allSettled(Object.values(up).map((u) => u.close()));
    },
  };
}

/** Chat requests each upstream received (embeddings and others are not counted). */
export function chatRequests(u: MockUpstream): number {
  return u.requests.filter((r) => r.path.endsWith("/chat/completions")).length;
}
