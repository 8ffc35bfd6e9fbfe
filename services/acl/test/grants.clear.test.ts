import {
  type Actor,
  aclAdminAuditList,
  aclAdminRouteGrantsCreate,
  aclAdminRouteGrantsPurge,
  aclCheck,
  aclGrantsClear,
} from "@gatehouse/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AclHarness, checkPrincipal, startAcl, streamEvents, user } from "./harness.js";

let h: AclHarness;
let admin: Actor;

beforeAll(async () => {
  h = await startAcl();
  admin = h.ids.admin;
});
afterAll(async () => {
  await h?.stop();
});

describe("acl.grants.clear: dispatch's own step in a create and after a delete", () => {
  it("drops a name's grants for an actor with no role on it, as access events, audited", async () => {
    const alice = user();
    await h.client.request(aclAdminRouteGrantsCreate, {
      actor: admin,
      route: "cleared",
      subject: { kind: "user", id: alice.id },
      role: "user",
    });
    // A manager of a route's target accounts creating it holds no grant on the route: the purge
    // endpoint refuses them, the clear does not ask.
    const creator = await h.ids.user("member");
    await expect(
      h.client.request(aclAdminRouteGrantsPurge, { actor: creator, route: "cleared" }),
    ).rejects.toMatchObject({ code: "permission_denied" });
    expect(
      await h.client.request(aclGrantsClear, { actor: creator, resource: "route", name: "cleared" }),
    ).toEqual({ removed: 1 });

    expect(
      await h.client.request(aclCheck, { principal: checkPrincipal(alice), route: "cleared" }),
    ).toMatchObject({ allowed: false });
    expect((await streamEvents(h)).map((e) => e.event)).toContainEqual({
      type: "route_grant.removed",
      subject: { kind: "user", id: alice.id },
      route: "cleared",
    });
    const audit = await h.client.request(aclAdminAuditList, { actor: admin, limit: 200 });
    expect(audit.items).toContainEqual(
      expect.objectContaining({
        action: "route_grant.clear",
        targetId: "cleared",
        actorId: creator.principal.id,
        detail: { removed: 1 },
      }),
    );
    // Nothing left: a second clear removes nothing and publishes nothing.
    expect(
      await h.client.request(aclGrantsClear, { actor: creator, resource: "route", name: "cleared" }),
    ).toEqual({ removed: 0 });
  });
});
