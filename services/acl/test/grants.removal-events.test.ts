import {
  type Actor,
  aclAdminAuditList,
  aclAdminGrantsCreate,
  aclAdminGrantsDelete,
  aclAdminGrantsList,
  aclAdminTeamMembersAdd,
  aclAdminTeamMembersRemove,
  aclAdminTeamsCreate,
  aclAdminTeamsDelete,
  aclCheck,
} from "@gatehouse/contracts";
import { waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AclHarness, checkPrincipal, resourceIdOf, startAcl, streamEvents, user } from "./harness.js";

let h: AclHarness;
let admin: Actor;

beforeAll(async () => {
  h = await startAcl();
  admin = h.ids.admin;
});
afterAll(async () => {
  await h?.stop();
});

describe("access-removing changes", () => {
  it("removing a grant refuses at once and publishes grant.removed", async () => {
    const alice = user();
    const grant = await h.client.request(aclAdminGrantsCreate, {
      actor: admin,
      account: "openai-main",
      resourceId: resourceIdOf("openai-main"),
      subject: { kind: "user", id: alice.id },
      role: "user",
    });
    await h.client.request(aclAdminGrantsDelete, { actor: admin, account: "openai-main", grantId: grant.id });
    expect(
      await h.client.request(aclCheck, { principal: checkPrincipal(alice), account: "openai-main" }),
    ).toMatchObject({ allowed: false, reason: "no_grant" });
    // propagate() flushed the relay before the call returned: the event is already in the stream.
    const events = await streamEvents(h);
    expect(events.map((e) => e.event)).toContainEqual({
      type: "grant.removed",
      subject: { kind: "user", id: alice.id },
      account: "openai-main",
    });
  });

  it("removing a team member publishes team_member.removed and ends the team grant for them", async () => {
    const bob = user();
    const team = await h.client.request(aclAdminTeamsCreate, { actor: admin, name: "platform" });
    await h.client.request(aclAdminTeamMembersAdd, { actor: admin, teamId: team.id, userId: bob.id });
    await h.client.request(aclAdminGrantsCreate, {
      actor: admin,
      account: "gemini-main",
      resourceId: resourceIdOf("gemini-main"),
      subject: { kind: "team", id: team.id },
      role: "user",
    });
    expect(
      await h.client.request(aclCheck, { principal: checkPrincipal(bob), account: "gemini-main" }),
    ).toMatchObject({ allowed: true, reason: "team_grant" });
    await h.client.request(aclAdminTeamMembersRemove, { actor: admin, teamId: team.id, userId: bob.id });
    expect(
      await h.client.request(aclCheck, { principal: checkPrincipal(bob), account: "gemini-main" }),
    ).toMatchObject({ allowed: false });
    const events = await streamEvents(h);
    expect(events.map((e) => e.event)).toContainEqual({
      type: "team_member.removed",
      teamId: team.id,
      userId: bob.id,
    });
  });

  it("deleting a team drops its grants and publishes team.deleted", async () => {
    const carol = user();
    const team = await h.client.request(aclAdminTeamsCreate, { actor: admin, name: "temp" });
    await h.client.request(aclAdminTeamMembersAdd, { actor: admin, teamId: team.id, userId: carol.id });
    await h.client.request(aclAdminGrantsCreate, {
      actor: admin,
      account: "mock-main",
      resourceId: resourceIdOf("mock-main"),
      subject: { kind: "team", id: team.id },
      role: "user",
    });
    await h.client.request(aclAdminTeamsDelete, { actor: admin, teamId: team.id });
    const grants = await h.client.request(aclAdminGrantsList, { actor: admin, account: "mock-main" });
    expect(grants.items).toEqual([]);
    expect(
      await h.client.request(aclCheck, { principal: checkPrincipal(carol), account: "mock-main" }),
    ).toMatchObject({ allowed: false });
    const events = await streamEvents(h);
    expect(events.map((e) => e.event)).toContainEqual({ type: "team.deleted", teamId: team.id });
    // Sequences are gap-free per source.
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
  });

  it("adding a grant is not an access event", async () => {
    const before = (await streamEvents(h)).length;
    await h.client.request(aclAdminGrantsCreate, {
      actor: admin,
      account: "quiet-one",
      resourceId: resourceIdOf("quiet-one"),
      subject: { kind: "user", id: user().id },
      role: "user",
    });
    await new Promise((r) => setTimeout(r, 100));
    expect((await streamEvents(h)).length).toBe(before);
  });

  it("audits every change with actor, key and request id", async () => {
    await waitFor(async () => {
      const page = await h.client.request(aclAdminAuditList, { actor: admin, limit: 200 });
      return page.items.some((e) => e.action === "team.delete");
    });
    const page = await h.client.request(aclAdminAuditList, { actor: admin, limit: 200 });
    const actions = page.items.map((e) => e.action);
    for (const a of [
      "grant.create",
      "grant.delete",
      "team.create",
      "team.member.add",
      "team.member.remove",
      "team.delete",
    ]) {
      expect(actions).toContain(a);
    }
    const del = page.items.find((e) => e.action === "grant.delete");
    expect(del).toMatchObject({
      actorId: admin.principal.id,
      actorKeyId: admin.keyId,
      requestId: admin.requestId,
      outcome: "success",
    });
  });
});
