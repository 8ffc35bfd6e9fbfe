import { authAdminUsersCreate, authValidate } from "@gatehouse/contracts";
import { generateKey } from "@gatehouse/keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthHarness, createPat, startAuth, validate } from "./harness.js";

let h: AuthHarness;

beforeAll(async () => {
  h = await startAuth({ AUTH_VALIDATE_CACHE_TTL_MS: "60000", AUTH_NEGATIVE_CACHE_TTL_MS: "5000" });
});
afterAll(async () => {
  await h?.stop();
});

async function newMemberPat(email: string, expiresAt?: string) {
  const user = await h.client.request(authAdminUsersCreate, { actor: h.admin, email, name: email });
  const pat = await createPat(h, {
    actor: h.admin,
    userId: user.id,
    name: "laptop",
    ...(expiresAt ? { expiresAt } : {}),
  });
  return { user, pat };
}

describe("auth.validate over NATS: valid", () => {
  it("valid: answers the principal, the key and a cache TTL, read at the outbox sequence", async () => {
    const { user, pat } = await newMemberPat("valid@example.com");
    const answer = await validate(h, pat.key);
    expect(answer).toEqual({
      outcome: "valid",
      principal: { id: user.id, kind: "user", name: "valid@example.com", role: "member" },
      key: { id: pat.apiKey.id, kind: "pat", expiresAt: null },
      cacheTtlMs: 60_000,
      asOfSequence: expect.any(Number),
    });
  });

  it("valid: never lets ingress cache past the key's expiry", async () => {
    const expiresAt = new Date(Date.now() + 10_000).toISOString();
    const { pat } = await newMemberPat("short@example.com", expiresAt);
    const answer = await validate(h, pat.key);
    expect(answer.outcome).toBe("valid");
    expect(answer.cacheTtlMs).toBeGreaterThan(8_000);
    expect(answer.cacheTtlMs).toBeLessThanOrEqual(10_000);
  });

  it("refuses a request that carries anything but a SHA-256 hex", async () => {
    await expect(h.client.request(authValidate, { keyHash: generateKey("pat") })).rejects.toMatchObject({
      code: "validation_failed",
    });
  });
});
