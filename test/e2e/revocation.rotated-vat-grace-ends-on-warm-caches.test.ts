import { generateKey } from "@gatehouse/keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { must, newVirtualAccount } from "./access-api.js";

/**
 * Issue 13 §4: a VAT regenerated with a short grace period. Every replica has the old key cached
 * with a lifetime computed from its old expiry (none: the validate cache TTL, 60 s by default); the
 * shortened life must reach those caches, so the old key is refused everywhere once the grace ends.
 */
let stack: TestStack;
const adminKey = generateKey("pat");
const REPLICAS = [0, 1, 2];

beforeAll(async () => {
  stack = await startTestStack({ ingressReplicas: 3, env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey } });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

async function me(r: number, key: string): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${stack.ingress[r]?.url}/api/v1/me`, {
    headers: { authorization: `Bearer ${key}` },
  });
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, ...(body.error ? { code: body.error.code } : {}) };
}

const sleepUntil = (at: number) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));

describe("regenerating a VAT with a grace period", () => {
  it.each([1, 2])(
    "with %i s of grace: the old key, warm on three replicas, is refused by every one once the grace ends",
    async (grace) => {
      const { va, key: oldKey } = await newVirtualAccount(stack, adminKey, `rotating-${grace}`);
      const base = `/api/v1/virtual-accounts/${va.id}/tokens`;
      const tokens = await must(stack, adminKey, "GET", base);
      // Warm: the second answer on each replica comes from its cache.
      for (const r of REPLICAS) for (let i = 0; i < 2; i++) expect((await me(r, oldKey)).status).toBe(200);

      const regen = await must(stack, adminKey, "POST", `${base}/${tokens.data[0].id}/regenerate`, {
        grace_period_seconds: grace,
      });
      const graceEnds = Date.parse(regen.previous.expires_at);

      await sleepUntil(graceEnds + 50);
      for (const r of REPLICAS) expect(await me(r, oldKey)).toEqual({ status: 401, code: "api_key_expired" });
      for (const r of REPLICAS) expect((await me(r, regen.key)).status).toBe(200);
      // Shortening a key's life is an access change: the call reports its propagation like a
      // revocation (how many replicas confirmed in time is the machine's speed, not asserted).
      expect(regen.propagation).toMatchObject({ replicas: 3 });
    },
  );

  it("a grace period longer than the key's remaining life changes nothing and emits nothing", async () => {
    const va = await must(stack, adminKey, "POST", "/api/v1/virtual-accounts", { name: "short-lived" }, 201);
    const base = `/api/v1/virtual-accounts/${va.id}/tokens`;
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    const token = await must(stack, adminKey, "POST", base, { name: "k", expires_at: expires }, 201);
    const regen = await must(stack, adminKey, "POST", `${base}/${token.id}/regenerate`, {
      grace_period_seconds: 7_200,
    });
    expect(Date.parse(regen.previous.expires_at)).toBe(Date.parse(token.expires_at));
    expect(regen.propagation).toBeUndefined();
  });
});
