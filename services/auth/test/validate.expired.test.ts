import { authAdminUsersCreate } from "@gatehouse/contracts";
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

describe("auth.validate over NATS: expired", () => {
  it("expired: a PAT past its expiry", async () => {
    const { pat } = await newMemberPat("expiring@example.com", new Date(Date.now() + 60_000).toISOString());
    expect((await validate(h, pat.key)).outcome).toBe("valid");
    h.advance(61_000);
    try {
      expect((await validate(h, pat.key)).outcome).toBe("expired");
    } finally {
      h.advance(-61_000);
    }
  });
});
