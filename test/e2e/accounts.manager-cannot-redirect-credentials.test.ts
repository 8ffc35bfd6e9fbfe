import { generateKey } from "@gatehouse/keys";
import { type MockUpstream, startOpenAIUpstream } from "@gatehouse/mock-upstreams";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { grant, must, newVirtualAccount } from "./access-api.js";
import { call, newMember } from "./identity-api.js";

/**
 * Issue 13 §1: a manager pointed an account's base URL at a listener of their own and received the
 * provider key. Managers keep models, enabled and grants; type, base URL, credentials and options are
 * a tenant admin's, and even an admin must give the credentials again to send them somewhere new.
 * The stack allows 127.0.0.1 (its default test allowlist), as an operator allows a self-hosted
 * upstream, so these calls really reach the mock upstreams.
 */
let stack: TestStack;
const adminKey = generateKey("pat");
let upstream: MockUpstream;
let elsewhere: MockUpstream;
const managers: Array<{ kind: string; key: string }> = [];
let callerKey: string;

const ACCOUNT = "shared-openai";
const path = `/api/v1/provider-accounts/${ACCOUNT}`;

async function chat(key: string) {
  return call(stack, key, "POST", "/v1/chat/completions", {
    model: `${ACCOUNT}/gpt-4o-mini`,
    messages: [{ role: "user", content: "hi" }],
  });
}

beforeAll(async () => {
  stack = await startTestStack({
    env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey, ACCOUNT_CACHE_TTL_MS: "500" },
  });
  upstream = await startOpenAIUpstream({ apiKey: "sk-upstream-original" });
  elsewhere = await startOpenAIUpstream({ apiKey: "sk-upstream-moved" });
  await must(
    stack,
    adminKey,
    "POST",
    "/api/v1/provider-accounts",
    {
      name: ACCOUNT,
      type: "openai",
      base_url: upstream.url,
      credentials: { api_key: upstream.apiKey },
      models: [{ name: "gpt-4o-mini", kind: "chat" }],
    },
    201,
  );

  const direct = await newMember(stack, adminKey, "direct-manager");
  await grant(stack, adminKey, ACCOUNT, { kind: "user", id: direct.user.id }, "manager");
  managers.push({ kind: "user with a manager grant", key: direct.key });

  const member = await newMember(stack, adminKey, "team-manager");
  const team = await must(stack, adminKey, "POST", "/api/v1/teams", { name: "platform" }, 201);
  await must(stack, adminKey, "POST", `/api/v1/teams/${team.id}/members`, { user_id: member.user.id }, 201);
  await grant(stack, adminKey, ACCOUNT, { kind: "team", id: team.id }, "manager");
  managers.push({ kind: "team member with a manager grant", key: member.key });

  const ci = await newVirtualAccount(stack, adminKey, "deploy-bot");
  await grant(stack, adminKey, ACCOUNT, { kind: "virtual_account", id: ci.va.id }, "manager");
  managers.push({ kind: "virtual account with a manager grant", key: ci.key });

  const app = await newVirtualAccount(stack, adminKey, "caller-app");
  await grant(stack, adminKey, ACCOUNT, { kind: "virtual_account", id: app.va.id }, "user");
  callerKey = app.key;
});
afterAll(async () => {
  await stack?.stop();
  await upstream?.close();
  await elsewhere?.close();
});

const ATTEMPTS: Array<{ body: Record<string, unknown>; attempted: string[] }> = [
  { body: { base_url: "http://127.0.0.1:1/v1" }, attempted: ["baseUrl"] },
  { body: { credentials: { api_key: "sk-attacker-chosen" } }, attempted: ["credentials"] },
  { body: { options: { organization: "org-attacker" } }, attempted: ["options"] },
  { body: { type: "anthropic" }, attempted: ["type"] },
  {
    body: { base_url: "http://127.0.0.1:2/v1", models: [{ name: "gpt-4o-mini", kind: "chat" }] },
    attempted: ["baseUrl"],
  },
];

describe("a manager cannot change where an account's credentials go", () => {
  it("is refused with 403 for type, base_url, credentials and options, as user, team member and virtual account", async () => {
    const before = await must(stack, adminKey, "GET", path);
    for (const manager of managers) {
      for (const { body } of ATTEMPTS) {
        const res = await call(stack, manager.key, "PATCH", path, body);
        expect(res.status, `${manager.kind} PATCH ${JSON.stringify(body)}`).toBe(403);
        expect(res.body.error.code).toBe("permission_denied");
        expect(res.body.error.message).toContain("needs a tenant admin");
      }
    }
    expect(await must(stack, adminKey, "GET", path)).toEqual(before);
    // The key still goes only where the admin sent it.
    expect((await chat(callerKey)).status).toBe(200);
    expect(upstream.requests.at(-1)?.headers.authorization).toBe(`Bearer ${upstream.apiKey}`);
  });

  it("audits each refused attempt as denied, naming the fields and never their values", async () => {
    const page = await must(stack, adminKey, "GET", "/api/v1/access-audit-events?source=dispatch&limit=200");
    const denied = page.data.filter(
      (e: { action: string; outcome: string; detail: { attempted?: unknown } }) =>
        e.action === "account.update" && e.outcome === "denied" && e.detail.attempted !== undefined,
    );
    expect(denied).toHaveLength(managers.length * ATTEMPTS.length);
    expect(denied.map((e: { detail: { attempted: string[] } }) => e.detail.attempted).sort()).toEqual(
      managers.flatMap(() => ATTEMPTS.map((a) => a.attempted)).sort(),
    );
    expect(new Set(denied.map((e: { actor_kind: string }) => e.actor_kind))).toEqual(
      new Set(["user", "virtual_account"]),
    );
    const text = JSON.stringify(denied);
    for (const value of ["127.0.0.1", "sk-attacker-chosen", "org-attacker", "anthropic"]) {
      expect(text).not.toContain(value);
    }
  });

  it("keeps what is the manager's: the model list, enabled (a revoking disable) and grants", async () => {
    const [user, teamMember, virtual] = managers as [
      (typeof managers)[0],
      (typeof managers)[0],
      (typeof managers)[0],
    ];
    const models = [
      { name: "gpt-4o-mini", kind: "chat" },
      { name: "gpt-4o", kind: "chat" },
    ];
    const updated = await must(stack, user.key, "PATCH", path, { models });
    expect(updated.models.map((m: { name: string }) => m.name)).toEqual(["gpt-4o-mini", "gpt-4o"]);
    // Sending back what was read (base URL and options unchanged) is not a change of destination.
    const current = await must(stack, user.key, "GET", path);
    expect(
      (
        await call(stack, user.key, "PATCH", path, {
          base_url: current.base_url,
          options: current.options,
          models,
        })
      ).status,
    ).toBe(200);

    const disabled = await must(stack, virtual.key, "PATCH", path, { enabled: false });
    expect(disabled.enabled).toBe(false);
    expect(disabled.propagation).toMatchObject({ complete: true });
    const refused = await chat(callerKey);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain("disabled");
    const enabled = await must(stack, teamMember.key, "PATCH", path, { enabled: true });
    expect(enabled.enabled).toBe(true);
    expect(enabled.propagation).toBeUndefined();
    expect((await chat(callerKey)).status).toBe(200);

    const helper = await newMember(stack, adminKey, "helper");
    await grant(stack, teamMember.key, ACCOUNT, { kind: "user", id: helper.user.id }, "user");
  });
});

describe("credentials are bound to where they were given for", () => {
  it("an admin who moves base_url or type without credentials gets 422 saying to give them again", async () => {
    const moved = await call(stack, adminKey, "PATCH", path, { base_url: elsewhere.url });
    expect(moved.status).toBe(422);
    expect(moved.body.error.message).toContain("credentials must be given again for the new base_url");
    const retyped = await call(stack, adminKey, "PATCH", path, { type: "anthropic" });
    expect(retyped.status).toBe(422);
    expect(retyped.body.error.message).toContain("credentials must be given again for the new type");
    expect((await must(stack, adminKey, "GET", path)).base_url).toBe(upstream.url);
  });

  it("with the credentials given again, the account moves and its calls go to the new host", async () => {
    const before = upstream.requests.length;
    await must(stack, adminKey, "PATCH", path, {
      base_url: elsewhere.url,
      credentials: { api_key: elsewhere.apiKey },
    });
    // dispatch rereads the account within ACCOUNT_CACHE_TTL_MS (500 ms here).
    let status = 0;
    for (let i = 0; i < 60 && elsewhere.requests.length === 0; i++) {
      status = (await chat(callerKey)).status;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect(elsewhere.requests.at(-1)?.headers.authorization).toBe(`Bearer ${elsewhere.apiKey}`);
    expect(upstream.requests.slice(before).map((r) => r.headers.authorization)).not.toContain(
      `Bearer ${elsewhere.apiKey}`,
    );
  });

  it("an account without credentials (a local server) may move freely", async () => {
    await must(
      stack,
      adminKey,
      "POST",
      "/api/v1/provider-accounts",
      { name: "keyless", type: "openai", base_url: upstream.url, models: [{ name: "m", kind: "chat" }] },
      201,
    );
    const moved = await must(stack, adminKey, "PATCH", "/api/v1/provider-accounts/keyless", {
      base_url: elsewhere.url,
    });
    expect(moved).toMatchObject({ base_url: elsewhere.url, credentials_set: false });
  });
});
