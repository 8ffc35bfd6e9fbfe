import { randomBytes } from "node:crypto";
import Anthropic from "@anthropic-ai/sdk";
import { generateKey } from "@gatehouse/keys";
import { type MockUpstream, startOpenAIUpstream } from "@gatehouse/mock-upstreams";
import OpenAI from "openai";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { grant, must, newVirtualAccount } from "./access-api.js";
import { call } from "./identity-api.js";
import { caught } from "./inference-harness.js";

/**
 * A deployment with no GATEHOUSE_EGRESS_ALLOW: provider calls and webhooks may reach public
 * addresses only. The mock upstream listens on 127.0.0.1, like the internal service an attacker
 * would aim at.
 */
let stack: TestStack;
let upstream: MockUpstream;
let sql: postgres.Sql;
const adminKey = generateKey("pat");
let vat: string;

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey,
      // Empty is unset: no allowlist, the default policy.
      GATEHOUSE_EGRESS_ALLOW: "",
      AUTH_WEBHOOK_KEY: randomBytes(32).toString("base64"),
    },
  });
  upstream = await startOpenAIUpstream({ apiKey: "sk-upstream-internal" });
  sql = postgres(stack.env.DATABASE_URL ?? "", { max: 1, onnotice: () => {} });
  vat = (await newVirtualAccount(stack, adminKey, "app")).key;
});
afterAll(async () => {
  await sql?.end({ timeout: 2 });
  await stack?.stop();
  await upstream?.close();
});

const refusedBy = (rule: string) =>
  `${rule} addresses are refused by the egress policy; allow them with GATEHOUSE_EGRESS_ALLOW`;

describe("by default, Gatehouse does not connect to internal addresses", () => {
  it("refuses to create an account at a loopback upstream, with 422 naming the rule", async () => {
    const res = await call(stack, adminKey, "POST", "/api/v1/provider-accounts", {
      name: "internal",
      type: "openai",
      base_url: upstream.url,
      credentials: { api_key: upstream.apiKey },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.message).toContain(refusedBy("loopback"));
  });

  it.each([
    ["http://localhost:11434/v1", "loopback"],
    ["http://2130706433/v1", "loopback"],
    ["http://0x7f.1/v1", "loopback"],
    ["http://[::ffff:127.0.0.1]/v1", "loopback"],
    ["http://[::1]:8000/v1", "loopback"],
    ["http://169.254.169.254/latest", "link-local"],
    ["http://10.0.0.7/v1", "private"],
    ["http://100.64.0.1/v1", "carrier-grade NAT"],
    ["http://0.0.0.0/v1", "unspecified"],
  ])("refuses base_url %s at create and at update (%s)", async (baseUrl, rule) => {
    const name = `acct-${randomBytes(4).toString("hex")}`;
    const created = await call(stack, adminKey, "POST", "/api/v1/provider-accounts", {
      name,
      type: "openai",
      base_url: baseUrl,
    });
    expect(created.status).toBe(422);
    expect(created.body.error.message).toContain(refusedBy(rule));
    await must(stack, adminKey, "POST", "/api/v1/provider-accounts", { name, type: "openai" }, 201);
    const updated = await call(stack, adminKey, "PATCH", `/api/v1/provider-accounts/${name}`, {
      base_url: baseUrl,
      credentials: { api_key: "sk-x" },
    });
    expect(updated.status).toBe(422);
    expect(updated.body.error.message).toContain(refusedBy(rule));
  });

  it("refuses a webhook endpoint on an internal address at create", async () => {
    for (const [url, rule] of [
      [`http://127.0.0.1:${new URL(upstream.url).port}/hooks`, "loopback"],
      ["http://localhost:9000/hooks", "loopback"],
      ["http://169.254.169.254/", "link-local"],
      ["https://192.168.1.10/hooks", "private"],
    ] as const) {
      const res = await call(stack, adminKey, "POST", "/api/v1/webhooks/endpoints", {
        url,
        event_types: ["key.created"],
      });
      expect(res.status, url).toBe(422);
      expect(res.body.error.message).toContain(refusedBy(rule));
    }
  });

  it("answers 502 upstream_not_allowed when the upstream's name resolves to loopback, in each dialect, sending nothing", async () => {
    // A name the admin API cannot judge without DNS passes at create; what it resolves to at call
    // time is what counts. Here the stored URL names `localhost` (as an account stored before this
    // policy existed would): the call path cannot tell it from a name whose DNS points inward.
    await must(
      stack,
      adminKey,
      "POST",
      "/api/v1/provider-accounts",
      {
        name: "rebound",
        type: "openai",
        base_url: "https://llm.example.com/v1",
        credentials: { api_key: upstream.apiKey },
        models: [{ name: "gpt-4o-mini", kind: "chat" }],
      },
      201,
    );
    const port = new URL(upstream.url).port;
    await sql`update dispatch.provider_accounts set base_url = ${`http://localhost:${port}/v1`} where name = 'rebound'`;
    const { va, key } = await newVirtualAccount(stack, adminKey, "rebound-app");
    await grant(stack, adminKey, "rebound", { kind: "virtual_account", id: va.id });
    const openai = new OpenAI({ apiKey: key, baseURL: `${stack.url}/v1`, maxRetries: 0 });
    const anthropic = new Anthropic({ apiKey: key, baseURL: stack.url, maxRetries: 0 });
    const messages = [{ role: "user" as const, content: "hi" }];

    const fromOpenAI = (await caught(() =>
      openai.chat.completions.create({ model: "rebound/gpt-4o-mini", messages }),
    )) as InstanceType<typeof OpenAI.APIError>;
    expect(fromOpenAI.status).toBe(502);
    expect(fromOpenAI.code).toBe("upstream_not_allowed");

    const fromStream = (await caught(() =>
      openai.chat.completions.create({ model: "rebound/gpt-4o-mini", messages, stream: true }),
    )) as InstanceType<typeof OpenAI.APIError>;
    expect(fromStream.status).toBe(502);

    const fromAnthropic = (await caught(() =>
      anthropic.messages.create({ model: "rebound/gpt-4o-mini", max_tokens: 16, messages }),
    )) as InstanceType<typeof Anthropic.APIError>;
    expect(fromAnthropic.status).toBe(502);
    expect((fromAnthropic.error as { error: { type: string } }).error.type).toBe("api_error");

    for (const error of [fromOpenAI, fromStream, fromAnthropic]) {
      expect(error.message).toContain("egress policy refuses");
      for (const revealing of ["localhost", "127.0.0.1", port])
        expect(error.message).not.toContain(revealing);
    }
    expect(upstream.requests).toHaveLength(0);
    expect(upstream.connectionsOpen).toBe(0);
    // The operator's log says where it tried to go.
    expect(stack.logs.text()).toContain("egress policy refused localhost (127.0.0.1)");
    // A public-API call still works: the VAT is fine, only the destination was refused.
    expect((await call(stack, vat, "GET", "/v1/models")).status).toBe(200);
  });
});
