import { authAdminPatsList, authAdminUsersCreate } from "@gatehouse/contracts";
import { waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthHarness, createPat, startAuth, validate } from "./harness.js";

let h: AuthHarness;

beforeAll(async () => {
  h = await startAuth({ AUTH_LAST_USED_FLUSH_MS: "200" });
});
afterAll(async () => {
  await h?.stop();
});

describe("last-used times", () => {
  it("are written in batches after validations, not on the request path", async () => {
    const user = await h.client.request(authAdminUsersCreate, {
      actor: h.admin,
      email: "lu@example.com",
      name: "lu",
    });
    const pat = await createPat(h, { actor: h.admin, userId: user.id, name: "k" });
    expect(pat.apiKey.lastUsedAt).toBeNull();
    const before = Date.now();
    for (let i = 0; i < 20; i++) await validate(h, pat.key);
    const lastUsed = async () =>
      (await h.client.request(authAdminPatsList, { actor: h.admin, userId: user.id })).items[0]?.lastUsedAt ??
      null;
    // Right after the validations the time is usually not written yet; within a flush interval it is.
    await waitFor(async () => (await lastUsed()) !== null, 3_000, 50);
    const at = Date.parse((await lastUsed()) ?? "");
    expect(at).toBeGreaterThanOrEqual(before - 5);
    expect(at).toBeLessThanOrEqual(Date.now());
  });
});
