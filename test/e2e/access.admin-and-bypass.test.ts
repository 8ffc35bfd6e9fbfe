import { generateKey } from "@gatehouse/keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { createAccount, grant, modelIds, must } from "./access-api.js";
import { call, newMember } from "./identity-api.js";

let stack: TestStack;
const adminKey = generateKey("pat");
let manager: Awaited<ReturnType<typeof newMember>>;
let member: Awaited<ReturnType<typeof newMember>>;

beforeAll(async () => {
  stack = await startTestStack({ env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey } });
  await createAccount(stack, adminKey, "openai-main", ["gpt-4o-mini"]);
  await createAccount(stack, adminKey, "secret-main", ["gpt-4o"]);
  manager = await newMember(stack, adminKey, "mgr");
  member = await newMember(stack, adminKey, "mem");
  await grant(stack, adminKey, "openai-main", { kind: "user", id: manager.user.id }, "manager");
  await grant(stack, adminKey, "openai-main", { kind: "user", id: member.user.id }, "user");
});
afterAll(async () => {
  await stack?.stop();
});

describe("provider-account admin API", () => {
  it("creates with 201, answers snake_case, never returns credentials, and pages lists", async () => {
    const created = await call(stack, adminKey, "POST", "/api/v1/provider-accounts", {
      name: "paged-a",
      type: "openai",
      base_url: "https://api.example.com/v1",
      credentials: { api_key: "sk-very-secret" },
      models: [{ name: "m", kind: "embedding", input_price_per_mtok: 0.02 }],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "paged-a",
      type: "openai",
      base_url: "https://api.example.com/v1",
      credentials_set: true,
      enabled: true,
      models: [{ name: "m", kind: "embedding", input_price_per_mtok: 0.02, output_price_per_mtok: null }],
    });
    expect(JSON.stringify(created.body)).not.toContain("sk-very-secret");
    const first = await must(stack, adminKey, "GET", "/api/v1/provider-accounts?limit=2");
    expect(first.data).toHaveLength(2);
    expect(first.next_cursor).toEqual(expect.any(String));
    const rest = await must(
      stack,
      adminKey,
      "GET",
      `/api/v1/provider-accounts?limit=2&cursor=${first.next_cursor}`,
    );
    expect([...first.data, ...rest.data].map((a: { name: string }) => a.name)).toEqual([
      "openai-main",
      "paged-a",
      "secret-main",
    ]);
    expect(rest.next_cursor).toBeNull();
    const dup = await call(stack, adminKey, "POST", "/api/v1/provider-accounts", {
      name: "paged-a",
      type: "mock",
    });
    expect(dup.status).toBe(409);
    const missing = await call(stack, adminKey, "GET", "/api/v1/provider-accounts/nope");
    expect(missing.status).toBe(404);
    const unauth = await call(stack, undefined, "GET", "/api/v1/provider-accounts");
    expect(unauth.status).toBe(401);
  });

  it("a member cannot create or delete accounts", async () => {
    const r = await call(stack, member.key, "POST", "/api/v1/provider-accounts", {
      name: "mine",
      type: "mock",
    });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("permission_denied");
    expect((await call(stack, manager.key, "DELETE", "/api/v1/provider-accounts/openai-main")).status).toBe(
      403,
    );
  });

  it("a manager grants on their account and not on another, and may edit only theirs", async () => {
    const other = await newMember(stack, adminKey, "other");
    const g = await call(stack, manager.key, "POST", "/api/v1/provider-accounts/openai-main/grants", {
      subject: { kind: "user", id: other.user.id },
      role: "user",
    });
    expect(g.status).toBe(201);
    expect(g.body).toMatchObject({ account: "openai-main", subject: { kind: "user", id: other.user.id } });
    expect(await modelIds(stack, other.key)).toEqual(["openai-main/gpt-4o-mini"]);
    const denied = await call(stack, manager.key, "POST", "/api/v1/provider-accounts/secret-main/grants", {
      subject: { kind: "user", id: manager.user.id },
      role: "manager",
    });
    expect(denied.status).toBe(403);
    const patch = await call(stack, manager.key, "PATCH", "/api/v1/provider-accounts/openai-main", {
      models: [
        { name: "gpt-4o-mini", kind: "chat" },
        { name: "gpt-4.1", kind: "chat" },
      ],
    });
    expect(patch.status).toBe(200);
    expect(await modelIds(stack, other.key)).toEqual(["openai-main/gpt-4.1", "openai-main/gpt-4o-mini"]);
    expect(
      (await call(stack, manager.key, "PATCH", "/api/v1/provider-accounts/secret-main", { models: [] }))
        .status,
    ).toBe(403);
    expect(
      (await call(stack, member.key, "GET", "/api/v1/provider-accounts/openai-main/grants")).status,
    ).toBe(403);
    expect((await call(stack, member.key, "POST", "/api/v1/teams", { name: "x" })).status).toBe(403);
  });

  it("rejects malformed input with 422 and audits changes", async () => {
    const bad = await call(stack, adminKey, "POST", "/api/v1/provider-accounts", {
      name: "ok-name",
      type: "mock",
      unexpected: true,
    });
    expect(bad.status).toBe(422);
    const badName = await call(stack, adminKey, "POST", "/api/v1/provider-accounts", {
      name: "Bad.Name",
      type: "mock",
    });
    expect(badName.status).toBe(422);
    const audit = await must(stack, adminKey, "GET", "/api/v1/access-audit-events?source=acl&limit=100");
    expect(audit.data.map((e: { action: string }) => e.action)).toContain("grant.create");
    const accountsAudit = await must(stack, adminKey, "GET", "/api/v1/access-audit-events?source=dispatch");
    expect(accountsAudit.data.map((e: { action: string }) => e.action)).toContain("account.create");
    expect((await call(stack, member.key, "GET", "/api/v1/access-audit-events")).status).toBe(403);
  });
});

describe("bypass attempts are refused", () => {
  const routingHeaders = {
    "x-gatehouse-account": "secret-main",
    "x-portkey-provider": "openai",
    "x-provider": "secret-main",
    "x-base-url": "http://evil.example",
  };

  it("headers and query strings do not change the target account", async () => {
    const viaHeader = await call(
      stack,
      member.key,
      "GET",
      "/v1/models/secret-main/gpt-4o",
      undefined,
      routingHeaders,
    );
    expect(viaHeader.status).toBe(403);
    const viaQuery = await call(
      stack,
      member.key,
      "GET",
      "/v1/models/secret-main/gpt-4o?account=openai-main&provider=openai-main",
    );
    expect(viaQuery.status).toBe(403);
    // Asking for an allowed model while naming another account elsewhere still resolves to the allowed one.
    const allowed = await call(
      stack,
      member.key,
      "GET",
      "/v1/models/openai-main/gpt-4o-mini?account=secret-main",
      undefined,
      routingHeaders,
    );
    expect(allowed.status).toBe(200);
    expect(allowed.body.owned_by).toBe("openai-main");
    const list = await call(
      stack,
      member.key,
      "GET",
      "/v1/models?account=secret-main",
      undefined,
      routingHeaders,
    );
    expect(list.body.data.map((m: { id: string }) => m.id)).not.toContain("secret-main/gpt-4o");
  });

  it("path-like, differently-cased and look-alike account names are not found", async () => {
    for (const id of [
      "../secret-main/gpt-4o",
      "a/../secret-main/gpt-4o",
      "OpenAI-Main/gpt-4o-mini",
      "\u043epenai-main/gpt-4o-mini",
      "openai\u2011main/gpt-4o-mini",
      "openai-main./gpt-4o-mini",
    ]) {
      const r = await call(stack, member.key, "GET", `/v1/models/${encodeURIComponent(id)}`);
      expect([id, r.status]).toEqual([id, 404]);
      expect(r.body.error.code).toBe("model_not_found");
    }
    for (const name of ["..%2Fsecret-main", "OpenAI-Main", "%D0%BEpenai-main"]) {
      const r = await call(stack, adminKey, "GET", `/api/v1/provider-accounts/${name}`);
      expect([name, r.status]).toEqual([name, 404]);
    }
  });

  it("body fields cannot smuggle provider, base URL or key into an account", async () => {
    for (const extra of [{ api_key: "sk-x" }, { provider: "openai" }, { credentials_set: true }]) {
      const r = await call(stack, manager.key, "PATCH", "/api/v1/provider-accounts/openai-main", extra);
      expect(r.status).toBe(422);
    }
    // A manager may point their own account elsewhere, but never someone else's.
    const other = await call(stack, manager.key, "PATCH", "/api/v1/provider-accounts/secret-main", {
      base_url: "http://evil.example/v1",
    });
    expect(other.status).toBe(403);
  });
});
