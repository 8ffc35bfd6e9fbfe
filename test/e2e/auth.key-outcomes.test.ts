import { generateKey } from "@gatehouse/keys";
import { waitFor } from "@gatehouse/testkit";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { call, newMember } from "./identity-api.js";

let stack: TestStack;
const adminKey = generateKey("pat");
const seenKeys: string[] = [adminKey];

beforeAll(async () => {
  stack = await startTestStack({ env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey } });
});
afterAll(async () => {
  await stack?.stop();
});

async function codeFor(key: string | undefined, headers: Record<string, string> = {}) {
  const res = await call(stack, key, "GET", "/api/v1/me", undefined, headers);
  return { status: res.status, code: res.body?.error?.code as string | undefined, body: res.body };
}

describe("API key outcomes at ingress", () => {
  it("missing, malformed and bad-checksum keys are 401 with distinct codes", async () => {
    expect(await codeFor(undefined)).toMatchObject({ status: 401, code: "missing_api_key" });
    expect(await codeFor("sk-not-ours")).toMatchObject({ status: 401, code: "malformed_api_key" });
    const key = generateKey("pat");
    const typo = `${key.slice(0, 20)}${key[20] === "x" ? "y" : "x"}${key.slice(21)}`;
    expect(await codeFor(typo)).toMatchObject({ status: 401, code: "malformed_api_key" });
    expect(await codeFor(undefined, { authorization: "Basic abc" })).toMatchObject({
      status: 401,
      code: "malformed_api_key",
    });
    // x-api-key is the Anthropic dialect's header only; the admin API wants a bearer token.
    expect(await codeFor(undefined, { "x-api-key": adminKey })).toMatchObject({ code: "missing_api_key" });
  });

  it("an unknown but well-formed key is invalid_api_key, and its text is never echoed", async () => {
    const key = generateKey("vat");
    seenKeys.push(key);
    const res = await codeFor(key);
    expect(res).toMatchObject({ status: 401, code: "invalid_api_key" });
    expect(JSON.stringify(res.body)).not.toContain(key.slice(14, 46));
  });

  it("an expired PAT is api_key_expired", async () => {
    const m = await newMember(stack, adminKey, "exp");
    const short = await call(stack, m.key, "POST", "/api/v1/personal-access-tokens", {
      name: "short",
      expires_at: new Date(Date.now() + 1_000).toISOString(),
    });
    seenKeys.push(m.key, short.body.key);
    expect((await codeFor(short.body.key)).status).toBe(200);
    await waitFor(async () => (await codeFor(short.body.key)).code === "api_key_expired", 5_000, 100);
  });

  it("a virtual account past its expiry is virtual_account_expired", async () => {
    const va = await call(stack, adminKey, "POST", "/api/v1/virtual-accounts", {
      name: "temp",
      expires_at: new Date(Date.now() + 1_000).toISOString(),
    });
    const vat = await call(stack, adminKey, "POST", `/api/v1/virtual-accounts/${va.body.id}/tokens`, {
      name: "k",
    });
    seenKeys.push(vat.body.key);
    // The key inherits the account's expiry; the account is what the caller is told about.
    expect(vat.body.expires_at).toBe(va.body.expires_at);
    expect((await codeFor(vat.body.key)).status).toBe(200);
    await waitFor(async () => (await codeFor(vat.body.key)).code === "virtual_account_expired", 5_000, 100);
  });
});

describe("VAT regeneration with a grace period", () => {
  it("the old key works inside the window and is refused after it; the new key works throughout", async () => {
    const va = await call(stack, adminKey, "POST", "/api/v1/virtual-accounts", { name: "deployer" });
    const base = `/api/v1/virtual-accounts/${va.body.id}/tokens`;
    const old = await call(stack, adminKey, "POST", base, { name: "prod" });
    const regen = await call(stack, adminKey, "POST", `${base}/${old.body.id}/regenerate`, {
      grace_period_seconds: 1,
    });
    seenKeys.push(old.body.key, regen.body.key);
    expect(regen.status).toBe(200);
    expect(regen.body).toMatchObject({
      name: "prod",
      key: expect.stringMatching(/^gatehouse_vat_/),
      previous: {
        id: old.body.id,
        replaced_by: regen.body.id,
        revoked_at: null,
        expires_at: expect.any(String),
      },
    });
    expect(regen.body.key).not.toBe(old.body.key);
    expect((await codeFor(old.body.key)).status).toBe(200);
    expect((await codeFor(regen.body.key)).status).toBe(200);
    await waitFor(async () => (await codeFor(old.body.key)).code === "api_key_expired", 5_000, 100);
    expect((await codeFor(regen.body.key)).status).toBe(200);
    // Regenerating a token that was already replaced is refused.
    expect(
      (await call(stack, adminKey, "POST", `${base}/${old.body.id}/regenerate`, { grace_period_seconds: 0 }))
        .status,
    ).toBe(409);
  });

  it("a zero grace period refuses the old key at once", async () => {
    const va = await call(stack, adminKey, "POST", "/api/v1/virtual-accounts", { name: "rotator" });
    const base = `/api/v1/virtual-accounts/${va.body.id}/tokens`;
    const old = await call(stack, adminKey, "POST", base, { name: "prod" });
    expect((await codeFor(old.body.key)).status).toBe(200);
    const regen = await call(stack, adminKey, "POST", `${base}/${old.body.id}/regenerate`, {
      grace_period_seconds: 0,
    });
    seenKeys.push(old.body.key, regen.body.key);
    expect(regen.body.previous).toMatchObject({ revoked_reason: "rotated" });
    expect(await codeFor(old.body.key)).toMatchObject({ status: 401, code: "api_key_revoked" });
    expect((await codeFor(regen.body.key)).status).toBe(200);
  });
});

describe("the official openai client", () => {
  it("gets AuthenticationError for a bad key on /v1", async () => {
    const bad = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: generateKey("pat"), maxRetries: 0 });
    await expect(bad.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(bad.models.list()).rejects.toMatchObject({ status: 401, code: "invalid_api_key" });
    const typo = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: "gatehouse_pat_typo", maxRetries: 0 });
    await expect(typo.models.list()).rejects.toMatchObject({ status: 401, code: "malformed_api_key" });
  });

  it("gets AuthenticationError on the admin API too, and succeeds with a good key", async () => {
    const bad = new OpenAI({ baseURL: `${stack.url}/api/v1`, apiKey: generateKey("vat"), maxRetries: 0 });
    await expect(bad.get("/me")).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const good = new OpenAI({ baseURL: `${stack.url}/api/v1`, apiKey: adminKey, maxRetries: 0 });
    await expect(good.get("/me")).resolves.toMatchObject({ principal: { role: "admin" } });
  });
});

describe("auth outage", () => {
  it("answers 503 within a second (never 401), refuses malformed keys locally, and recovers", async () => {
    await stack.stopService("auth");
    try {
      const started = Date.now();
      const res = await codeFor(adminKey);
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(res.status).toBe(503);
      expect(res.code).toBe("service_unavailable");
      // Format and checksum need no auth service.
      expect(await codeFor("gatehouse_pat_nope")).toMatchObject({ status: 401, code: "malformed_api_key" });
    } finally {
      await stack.startService("auth");
    }
    await waitFor(async () => (await codeFor(adminKey)).status === 200, 5_000, 50);
  });

  it("never logs a key", () => {
    const logs = stack.logs.text();
    for (const key of seenKeys) expect(logs).not.toContain(key);
  });
});
