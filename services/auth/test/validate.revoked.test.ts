import {
  authAdminPatsRevoke,
  authAdminUsersCreate,
  authAdminVirtualAccountsCreate,
  authAdminVirtualAccountsDelete,
} from "@gatehouse/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthHarness, createPat, createVat, startAuth, validate } from "./harness.js";

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

describe("auth.validate over NATS: revoked", () => {
  it("revoked: a revoked PAT, and asOfSequence moves past the revocation event", async () => {
    const { pat } = await newMemberPat("revoked@example.com");
    const before = await validate(h, pat.key);
    await h.client.request(authAdminPatsRevoke, { actor: h.admin, id: pat.apiKey.id });
    const after = await validate(h, pat.key);
    expect(after.outcome).toBe("revoked");
    expect(after.asOfSequence).toBeGreaterThan(before.asOfSequence);
  });

  it("revoked: every VAT of a deleted virtual account", async () => {
    const va = await h.client.request(authAdminVirtualAccountsCreate, { actor: h.admin, name: "gone" });
    const vat = await createVat(h, {
      actor: h.admin,
      virtualAccountId: va.id,
      name: "k",
    });
    expect((await validate(h, vat.key)).outcome).toBe("valid");
    await h.client.request(authAdminVirtualAccountsDelete, { actor: h.admin, id: va.id });
    expect((await validate(h, vat.key)).outcome).toBe("revoked");
  });
});
