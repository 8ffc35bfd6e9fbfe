import { randomUUID } from "node:crypto";
import {
  type Actor,
  dispatchAdminAccountsCreate,
  dispatchAdminAccountsList,
  dispatchAdminAuditList,
} from "@gatehouse/contracts";
import { hashKey } from "@gatehouse/keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DispatchHarness, startDispatch } from "./harness.js";

let h: DispatchHarness;

beforeAll(async () => {
  h = await startDispatch();
});
afterAll(async () => {
  await h?.stop();
});

describe("dispatch acts only for an actor auth proves", () => {
  it("refuses a made-up admin with no valid key and audits the attempt as denied", async () => {
    const forged: Actor = {
      principal: { id: randomUUID(), kind: "user", name: "mallory", role: "admin" },
      keyId: randomUUID(),
      keyHash: hashKey("made-up"),
      requestId: "forged-dispatch",
    };
    await expect(
      h.client.request(dispatchAdminAccountsCreate, { actor: forged, name: "evil", type: "mock" }),
    ).rejects.toMatchObject({ code: "invalid_api_key" });
    const accounts = await h.client.request(dispatchAdminAccountsList, { actor: h.ids.admin });
    expect(accounts.items.map((a) => a.name)).not.toContain("evil");
    const audit = await h.client.request(dispatchAdminAuditList, { actor: h.ids.admin, limit: 200 });
    expect(audit.items).toContainEqual(
      expect.objectContaining({ requestId: "forged-dispatch", action: "accounts.create", outcome: "denied" }),
    );
  });

  it("a member's real key claiming the admin role acts as a member", async () => {
    const m = await h.ids.user();
    const promoted: Actor = { ...m, principal: { ...m.principal, role: "admin" } };
    await expect(
      h.client.request(dispatchAdminAccountsCreate, { actor: promoted, name: "evil2", type: "mock" }),
    ).rejects.toMatchObject({ code: "permission_denied" });
  });
});
