import {
  type Actor,
  aclAdminAuditList,
  aclAdminRouteGrantsCreate,
  aclAdminRouteGrantsPurge,
  aclCheck,
  aclGrantsClear,
  type Principal,
} from "@gatehouse/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AclHarness, checkPrincipal, forgedAdmin, startAcl, streamEvents, user } from "./harness.js";

/** A `user` grant on a route for a principal acl knows nothing else about. */
const grantRoute = (route: string, subject: Principal) =>
  h.client.request(aclAdminRouteGrantsCreate, {
    actor: admin,
    route,
    subject: { kind: "user", id: subject.id },
    role: "user",
  });

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
    await grantRoute("cleared", alice);
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

  it("refuses a made-up actor: nothing cleared, and no audit row names a principal nobody proved", async () => {
    const alice = user();
    await grantRoute("kept", alice);
    const forged = forgedAdmin("forged-clear");
    await expect(
      h.client.request(aclGrantsClear, { actor: forged, resource: "route", name: "kept" }),
    ).rejects.toMatchObject({ code: "invalid_api_key" });
    expect(
      await h.client.request(aclCheck, { principal: checkPrincipal(alice), route: "kept" }),
    ).toMatchObject({ allowed: true });
    const audit = await h.client.request(aclAdminAuditList, { actor: admin, limit: 200 });
    expect(audit.items).not.toContainEqual(
      expect.objectContaining({ actorId: forged.principal.id, outcome: "success" }),
    );
    expect(audit.items).toContainEqual(
      expect.objectContaining({ requestId: "forged-clear", action: "grants.clear", outcome: "denied" }),
    );
  });
});
