import { randomUUID } from "node:crypto";
import {
  type Actor,
  authAdminAuditList,
  authAdminMe,
  authAdminUsersCreate,
  authAdminUsersList,
} from "@gatehouse/contracts";
import { hashKey } from "@gatehouse/keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthHarness, createPat, startAuth } from "./harness.js";

let h: AuthHarness;

beforeAll(async () => {
  h = await startAuth();
});
afterAll(async () => {
  await h?.stop();
});

/** A member with a real key: what an actor claim looks like when it is honest. */
async function member(): Promise<Actor> {
  const email = `m-${randomUUID().slice(0, 8)}@example.com`;
  const user = await h.client.request(authAdminUsersCreate, { actor: h.admin, email, name: email });
  const pat = await createPat(h, { actor: h.admin, userId: user.id, name: "k" });
  return {
    principal: { id: user.id, kind: "user", name: user.name, role: "member" },
    keyId: pat.apiKey.id,
    keyHash: hashKey(pat.key),
    requestId: `req-${randomUUID()}`,
  };
}

describe("an admin request's actor is proven by its key, not taken on its word", () => {
  it("refuses a made-up admin with no valid key (invalid_api_key) and audits the attempt as denied", async () => {
    const forged: Actor = {
      principal: { id: randomUUID(), kind: "user", name: "mallory", role: "admin" },
      keyId: randomUUID(),
      keyHash: hashKey("gatehouse_pat_not-a-real-key"),
      requestId: "forged-1",
    };
    await expect(
      h.client.request(authAdminUsersCreate, { actor: forged, email: "evil@example.com", name: "evil" }),
    ).rejects.toMatchObject({ code: "invalid_api_key" });
    const users = await h.client.request(authAdminUsersList, { actor: h.admin, limit: 200 });
    expect(users.items.map((u) => u.email)).not.toContain("evil@example.com");
    const audit = await h.client.request(authAdminAuditList, { actor: h.admin, limit: 200 });
    expect(audit.items).toContainEqual(
      expect.objectContaining({ requestId: "forged-1", action: "users.create", outcome: "denied" }),
    );
  });

  it("refuses a member's real key claiming to be the admin (permission_denied)", async () => {
    const m = await member();
    const claim: Actor = { ...m, principal: h.admin.principal, keyId: m.keyId };
    await expect(
      h.client.request(authAdminUsersCreate, { actor: claim, email: "evil2@example.com", name: "evil" }),
    ).rejects.toMatchObject({ code: "permission_denied" });
    // Claiming the admin's key id with the member's key hash is no better.
    await expect(
      h.client.request(authAdminUsersCreate, {
        actor: { ...claim, keyId: h.admin.keyId },
        email: "evil3@example.com",
        name: "evil",
      }),
    ).rejects.toMatchObject({ code: "permission_denied" });
  });

  it("acts as the key's principal as it stands: a member claiming the admin role stays a member", async () => {
    const m = await member();
    const promoted: Actor = { ...m, principal: { ...m.principal, role: "admin" } };
    await expect(
      h.client.request(authAdminUsersCreate, { actor: promoted, email: "evil4@example.com", name: "evil" }),
    ).rejects.toMatchObject({ code: "permission_denied" });
    const me = await h.client.request(authAdminMe, { actor: promoted });
    expect(me.principal.role).toBe("member");
  });
});
