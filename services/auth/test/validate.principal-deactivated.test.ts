import {
  authAdminUsersCreate,
  authAdminUsersDeactivate,
  authAdminUsersReactivate,
} from "@gatehouse/contracts";
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

describe("auth.validate over NATS: principal deactivated", () => {
  it("principal_deactivated: every PAT of a deactivated user, including one minted just before", async () => {
    const { user, pat } = await newMemberPat("leaver@example.com");
    const second = await createPat(h, {
      actor: h.admin,
      userId: user.id,
      name: "ci",
    });
    await h.client.request(authAdminUsersDeactivate, { actor: h.admin, id: user.id });
    for (const key of [pat.key, second.key]) {
      expect((await validate(h, key)).outcome).toBe("principal_deactivated");
    }
    // Deactivation revoked them: reactivating the user does not bring them back.
    await h.client.request(authAdminUsersReactivate, { actor: h.admin, id: user.id });
    for (const key of [pat.key, second.key]) {
      expect((await validate(h, key)).outcome).toBe("revoked");
    }
  });
});
