import { randomUUID } from "node:crypto";
import { type Actor, aclAdminAuditList, aclAdminTeamsCreate, aclAdminTeamsList } from "@gatehouse/contracts";
import { hashKey } from "@gatehouse/keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AclHarness, startAcl } from "./harness.js";

let h: AclHarness;

beforeAll(async () => {
  h = await startAcl();
});
afterAll(async () => {
  await h?.stop();
});

describe("acl acts only for an actor auth proves", () => {
  it("refuses a made-up admin with no valid key and audits the attempt as denied", async () => {
    const forged: Actor = {
      principal: { id: randomUUID(), kind: "user", name: "mallory", role: "admin" },
      keyId: randomUUID(),
      keyHash: hashKey("made-up"),
      requestId: "forged-acl",
    };
    await expect(
      h.client.request(aclAdminTeamsCreate, { actor: forged, name: "evil" }),
    ).rejects.toMatchObject({
      code: "invalid_api_key",
    });
    const teams = await h.client.request(aclAdminTeamsList, { actor: h.ids.admin, limit: 200 });
    expect(teams.items.map((t) => t.name)).not.toContain("evil");
    const audit = await h.client.request(aclAdminAuditList, { actor: h.ids.admin, limit: 200 });
    expect(audit.items).toContainEqual(
      expect.objectContaining({ requestId: "forged-acl", action: "teams.create", outcome: "denied" }),
    );
  });

  it("a member's real key claiming the admin role acts as a member", async () => {
    const m = await h.ids.user();
    const promoted: Actor = { ...m, principal: { ...m.principal, role: "admin" } };
    await expect(
      h.client.request(aclAdminTeamsCreate, { actor: promoted, name: "evil2" }),
    ).rejects.toMatchObject({ code: "permission_denied" });
  });
});
