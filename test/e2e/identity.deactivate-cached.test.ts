import { generateKey } from "@gatehouse/keys";
import { waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { call, newMember } from "./identity-api.js";

let stack: TestStack;
const adminKey = generateKey("pat");

beforeAll(async () => {
  stack = await startTestStack({ env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey }, ingressReplicas: 3 });
});
afterAll(async () => {
  await stack?.stop();
});

async function statusOn(replica: number, key: string): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${stack.ingress[replica]?.url}/api/v1/me`, {
    headers: { authorization: `Bearer ${key}` },
  });
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, ...(body.error ? { code: body.error.code } : {}) };
}

describe("access removal reaches cached keys on every ingress replica", () => {
  it("deactivating a user refuses all of their PATs everywhere as soon as the call returns", async () => {
    const m = await newMember(stack, adminKey, "cached");
    const second = await call(stack, m.key, "POST", "/api/v1/personal-access-tokens", { name: "fresh" });
    const keys = [m.key, second.body.key as string];
    // Warm every replica's cache (twice: the second answer comes from the cache while the feed is trusted).
    for (let r = 0; r < 3; r++) for (const key of keys) for (let i = 0; i < 2; i++) await statusOn(r, key);
    for (let r = 0; r < 3; r++) for (const key of keys) expect((await statusOn(r, key)).status).toBe(200);

    const off = await call(stack, adminKey, "POST", `/api/v1/users/${m.user.id}/deactivate`);
    expect(off.status).toBe(200);
    for (let r = 0; r < 3; r++) {
      for (const key of keys)
        expect(await statusOn(r, key)).toEqual({ status: 401, code: "principal_deactivated" });
    }
  });

  it("revoking one PAT and revoking all PATs in the organisation are seen everywhere, VATs unaffected", async () => {
    const a = await newMember(stack, adminKey, "one");
    const b = await newMember(stack, adminKey, "all");
    const va = await call(stack, adminKey, "POST", "/api/v1/virtual-accounts", { name: "survivor" });
    const vat = await call(stack, adminKey, "POST", `/api/v1/virtual-accounts/${va.body.id}/tokens`, {
      name: "k",
    });
    for (let r = 0; r < 3; r++) for (const key of [a.key, b.key, vat.body.key]) await statusOn(r, key);

    expect((await call(stack, a.key, "DELETE", `/api/v1/personal-access-tokens/${a.tokenId}`)).status).toBe(
      200,
    );
    for (let r = 0; r < 3; r++)
      expect(await statusOn(r, a.key)).toEqual({ status: 401, code: "api_key_revoked" });

    const all = await call(stack, adminKey, "POST", "/api/v1/personal-access-tokens/revoke-all");
    expect(all.status).toBe(200);
    expect(all.body.revoked).toBeGreaterThanOrEqual(2);
    for (let r = 0; r < 3; r++) {
      expect(await statusOn(r, b.key)).toEqual({ status: 401, code: "api_key_revoked" });
      // The admin's own PAT went too: that is what "every PAT" means.
      expect((await statusOn(r, adminKey)).code).toBe("api_key_revoked");
      expect((await statusOn(r, vat.body.key)).status).toBe(200);
    }
    await waitFor(async () => stack.logs.text().length > 0, 1_000);
    for (const key of [a.key, b.key, vat.body.key, adminKey]) expect(stack.logs.text()).not.toContain(key);
  });
});
