import { randomUUID } from "node:crypto";
import {
  type Actor,
  aclAdminAuditList,
  aclAdminGrantsCreate,
  aclAdminGrantsDelete,
  aclAdminGrantsList,
  aclAdminGrantsPurgeAccount,
  aclAdminTeamMembersAdd,
  aclAdminTeamsCreate,
  aclAdminTeamsList,
  type Principal,
} from "@gatehouse/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AclHarness, resourceIdOf, startAcl } from "./harness.js";

let h: AclHarness;
let admin: Actor;
let managerUser: Principal;
let manager: Actor;
let member: Actor;

beforeAll(async () => {
  h = await startAcl();
  admin = h.ids.admin;
  manager = await h.ids.user();
  managerUser = manager.principal;
  member = await h.ids.user();
  await h.client.request(aclAdminGrantsCreate, {
    actor: admin,
    account: "openai-main",
    resourceId: resourceIdOf("openai-main"),
    subject: { kind: "user", id: managerUser.id },
    role: "manager",
  });
});
afterAll(async () => {
  await h?.stop();
});

describe("who may manage grants", () => {
  it("a manager grants and revokes on their own account", async () => {
    const g = await h.client.request(aclAdminGrantsCreate, {
      actor: manager,
      account: "openai-main",
      resourceId: resourceIdOf("openai-main"),
      subject: { kind: "user", id: member.principal.id },
      role: "user",
    });
    const list = await h.client.request(aclAdminGrantsList, { actor: manager, account: "openai-main" });
    expect(list.items.map((i) => i.id)).toContain(g.id);
    await h.client.request(aclAdminGrantsDelete, { actor: manager, account: "openai-main", grantId: g.id });
  });

  it("a manager cannot grant on another account", async () => {
    await expect(
      h.client.request(aclAdminGrantsCreate, {
        actor: manager,
        account: "anthropic-main",
        resourceId: resourceIdOf("anthropic-main"),
        subject: { kind: "user", id: manager.principal.id },
        role: "manager",
      }),
    ).rejects.toMatchObject({ code: "permission_denied" });
  });

  it("a member cannot grant, list grants, manage teams or read the audit log", async () => {
    const grantTry = h.client.request(aclAdminGrantsCreate, {
      actor: member,
      account: "openai-main",
      resourceId: resourceIdOf("openai-main"),
      subject: { kind: "user", id: member.principal.id },
      role: "manager",
    });
    await expect(grantTry).rejects.toMatchObject({ code: "permission_denied" });
    await expect(
      h.client.request(aclAdminGrantsList, { actor: member, account: "openai-main" }),
    ).rejects.toMatchObject({ code: "permission_denied" });
    await expect(
      h.client.request(aclAdminTeamsCreate, { actor: member, name: "mine" }),
    ).rejects.toMatchObject({
      code: "permission_denied",
    });
    await expect(h.client.request(aclAdminTeamsList, { actor: manager })).rejects.toMatchObject({
      code: "permission_denied",
    });
    await expect(h.client.request(aclAdminAuditList, { actor: member })).rejects.toMatchObject({
      code: "permission_denied",
    });
    await expect(
      h.client.request(aclAdminGrantsPurgeAccount, { actor: manager, account: "openai-main" }),
    ).rejects.toMatchObject({ code: "permission_denied" });
  });

  it("records refused attempts in the audit log", async () => {
    const page = await h.client.request(aclAdminAuditList, { actor: admin, limit: 200 });
    const denied = page.items.filter((e) => e.outcome === "denied");
    expect(denied.map((e) => e.action)).toEqual(expect.arrayContaining(["grant.create", "team.create"]));
    expect(denied.find((e) => e.action === "grant.create")).toMatchObject({ actorId: member.principal.id });
  });

  it("answers conflict for a second grant to the same subject and not_found for unknown teams", async () => {
    await expect(
      h.client.request(aclAdminGrantsCreate, {
        actor: admin,
        account: "openai-main",
        resourceId: resourceIdOf("openai-main"),
        subject: { kind: "user", id: managerUser.id },
        role: "user",
      }),
    ).rejects.toMatchObject({ code: "conflict" });
    await expect(
      h.client.request(aclAdminGrantsCreate, {
        actor: admin,
        account: "openai-main",
        resourceId: resourceIdOf("openai-main"),
        subject: { kind: "team", id: randomUUID() },
        role: "user",
      }),
    ).rejects.toMatchObject({ code: "not_found" });
    const team = await h.client.request(aclAdminTeamsCreate, { actor: admin, name: "Ops" });
    await expect(h.client.request(aclAdminTeamsCreate, { actor: admin, name: "ops" })).rejects.toMatchObject({
      code: "conflict",
    });
    await h.client.request(aclAdminTeamMembersAdd, {
      actor: admin,
      teamId: team.id,
      userId: member.principal.id,
    });
    await expect(
      h.client.request(aclAdminTeamMembersAdd, {
        actor: admin,
        teamId: team.id,
        userId: member.principal.id,
      }),
    ).rejects.toMatchObject({ code: "conflict" });
  });

  it("purging an account's grants (dispatch does it before deleting the account) leaves none behind", async () => {
    const r = await h.client.request(aclAdminGrantsPurgeAccount, { actor: admin, account: "openai-main" });
    expect(r.removed).toBeGreaterThanOrEqual(1);
    const list = await h.client.request(aclAdminGrantsList, { actor: admin, account: "openai-main" });
    expect(list.items).toEqual([]);
  });

  it("pages grants with a cursor", async () => {
    for (let i = 0; i < 5; i++) {
      await h.client.request(aclAdminGrantsCreate, {
        actor: admin,
        account: "paged",
        resourceId: resourceIdOf("paged"),
        subject: { kind: "user", id: randomUUID() },
        role: "user",
      });
    }
    const first = await h.client.request(aclAdminGrantsList, { actor: admin, account: "paged", limit: 3 });
    expect(first.items).toHaveLength(3);
    expect(first.nextCursor).not.toBeNull();
    const second = await h.client.request(aclAdminGrantsList, {
      actor: admin,
      account: "paged",
      limit: 3,
      cursor: first.nextCursor ?? undefined,
    });
    expect(second.items).toHaveLength(2);
    expect(second.nextCursor).toBeNull();
    expect(new Set([...first.items, ...second.items].map((g) => g.id)).size).toBe(5);
  });
});
