import { type Actor, aclAdminAuditList, aclAdminTeamsCreate, aclAdminTeamsList } from "@gatehouse/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AclHarness, forgedAdmin, startAcl } from "./harness.js";

let h: AclHarness;

beforeAll(async () => {
  h = await startAcl();
});
afterAll(async () => {
  await h?.stop();
});

describe("acl acts only for an actor auth proves", () => {
  it("refuses a made-up admin with no valid key and audits the attempt as denied", async () => {
    const forged = forgedAdmin("forged-acl");
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

describe("keyset paging", () => {
  it("answers a cursor it did not issue as every admin list does: validation_failed", async () => {
    for (const endpoint of [aclAdminTeamsList, aclAdminAuditList]) {
      await expect(
        h.client.request(endpoint, { actor: h.ids.admin, cursor: "bm90LWEtY3Vyc29y" }),
      ).rejects.toMatchObject({ code: "validation_failed" });
    }
  });

  it("pages the audit log newest first, each row once", async () => {
    for (const name of ["page-a", "page-b", "page-c"]) {
      await h.client.request(aclAdminTeamsCreate, { actor: h.ids.admin, name });
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await h.client.request(aclAdminAuditList, {
        actor: h.ids.admin,
        limit: 1,
        ...(cursor === undefined ? {} : { cursor }),
      });
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined && seen.length < 1_000);
    const all = await h.client.request(aclAdminAuditList, { actor: h.ids.admin, limit: 200 });
    expect(seen).toEqual(all.items.map((e) => e.id));
    const times = all.items.map((e) => e.at);
    expect([...times].sort().reverse()).toEqual(times);
  });
});
