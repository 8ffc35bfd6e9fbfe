import { authAdminUsersCreate, authAdminVirtualAccountsCreate } from "@gatehouse/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthHarness, createPat, createVat, startAuth, validate } from "./harness.js";

let h: AuthHarness;

beforeAll(async () => {
  h = await startAuth({ AUTH_VALIDATE_CACHE_TTL_MS: "60000", AUTH_NEGATIVE_CACHE_TTL_MS: "5000" });
});
afterAll(async () => {
  await h?.stop();
});

async function _newMemberPat(email: string, expiresAt?: string) {
  const user = await h.client.request(authAdminUsersCreate, { actor: h.admin, email, name: email });
  const pat = await createPat(h, {
    actor: h.admin,
    userId: user.id,
    name: "laptop",
    ...(expiresAt ? { expiresAt } : {}),
  });
  return { user, pat };
}

describe("auth.validate over NATS: virtual account expired", () => {
  it("virtual_account_expired: a VAT whose account has expired", async () => {
    const va = await h.client.request(authAdminVirtualAccountsCreate, {
      actor: h.admin,
      name: "nightly-ci",
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    });
    const vat = await createVat(h, {
      actor: h.admin,
      virtualAccountId: va.id,
      name: "deploy",
    });
    const fresh = await validate(h, vat.key);
    expect(fresh).toMatchObject({
      outcome: "valid",
      principal: { id: va.id, kind: "virtual_account", name: "nightly-ci", role: "member" },
      key: { kind: "vat" },
    });
    // The key inherits the account's expiry and the cache TTL stops there.
    expect(fresh.cacheTtlMs).toBeLessThanOrEqual(60_000);
    h.advance(61_000);
    try {
      // The account ran out at the same instant as its key; the account is what the holder must fix.
      expect((await validate(h, vat.key)).outcome).toBe("virtual_account_expired");
    } finally {
      h.advance(-61_000);
    }
  });
});
