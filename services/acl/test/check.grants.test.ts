import {
  aclAccounts,
  aclAdminGrantsCreate,
  aclAdminTeamMembersAdd,
  aclAdminTeamsCreate,
  aclCheck,
} from "@gatehouse/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AclHarness, checkPrincipal, resourceIdOf, startAcl, user, virtualAccount } from "./harness.js";

let h: AclHarness;
const admin = user("admin");
const alice = user();
const bob = user();
const va = virtualAccount();
let teamId: string;

beforeAll(async () => {
  h = await startAcl();
  const asAdmin = h.ids.admin;
  await h.client.request(aclAdminGrantsCreate, {
    actor: asAdmin,
    account: "openai-main",
    resourceId: resourceIdOf("openai-main"),
    subject: { kind: "user", id: alice.id },
    role: "user",
  });
  const team = await h.client.request(aclAdminTeamsCreate, { actor: asAdmin, name: "research" });
  teamId = team.id;
  await h.client.request(aclAdminTeamMembersAdd, { actor: asAdmin, teamId, userId: bob.id });
  await h.client.request(aclAdminGrantsCreate, {
    actor: asAdmin,
    account: "anthropic-main",
    resourceId: resourceIdOf("anthropic-main"),
    subject: { kind: "team", id: teamId },
    role: "manager",
  });
  await h.client.request(aclAdminGrantsCreate, {
    actor: asAdmin,
    account: "openai-main",
    resourceId: resourceIdOf("openai-main"),
    subject: { kind: "virtual_account", id: va.id },
    role: "user",
  });
});
afterAll(async () => {
  await h?.stop();
});

describe("acl.check", () => {
  it("allows a user with a direct grant and names it", async () => {
    const r = await h.client.request(aclCheck, {
      principal: checkPrincipal(alice),
      account: "openai-main",
      model: "gpt-4o-mini",
    });
    expect(r).toEqual({ allowed: true, reason: "direct_grant", role: "user" });
  });

  it("refuses an account the user has no grant on", async () => {
    const r = await h.client.request(aclCheck, {
      principal: checkPrincipal(alice),
      account: "anthropic-main",
    });
    expect(r).toEqual({ allowed: false, reason: "no_grant" });
  });

  it("allows a team member through the team's grant, naming the team (its limits count the call)", async () => {
    const r = await h.client.request(aclCheck, { principal: checkPrincipal(bob), account: "anthropic-main" });
    expect(r).toEqual({ allowed: true, reason: "team_grant", role: "manager", teamIds: [teamId] });
  });

  it("refuses manager actions to a user-role grant", async () => {
    const r = await h.client.request(aclCheck, {
      principal: checkPrincipal(alice),
      account: "openai-main",
      minimumRole: "manager",
    });
    expect(r).toEqual({ allowed: false, reason: "direct_grant", role: "user" });
  });

  it("gives a virtual account only its own grants", async () => {
    expect(
      await h.client.request(aclCheck, { principal: checkPrincipal(va), account: "openai-main" }),
    ).toMatchObject({ allowed: true, reason: "direct_grant" });
    expect(
      await h.client.request(aclCheck, { principal: checkPrincipal(va), account: "anthropic-main" }),
    ).toMatchObject({ allowed: false, reason: "no_grant" });
  });

  it("lets tenant admins reach every account without grants", async () => {
    const r = await h.client.request(aclCheck, {
      principal: checkPrincipal(admin),
      account: "never-granted",
      minimumRole: "manager",
    });
    expect(r).toEqual({ allowed: true, reason: "tenant_admin", role: "manager" });
  });

  it("refuses a name that is not an account name at the contract", async () => {
    await expect(
      h.client.request(aclCheck, { principal: checkPrincipal(alice), account: "../openai-main" }),
    ).rejects.toMatchObject({ code: "validation_failed" });
  });
});

describe("acl.accounts", () => {
  it("lists the accounts and best role for each principal", async () => {
    expect(await h.client.request(aclAccounts, { principal: checkPrincipal(alice) })).toEqual({
      all: false,
      accounts: [{ account: "openai-main", role: "user" }],
      next: null,
    });
    expect(await h.client.request(aclAccounts, { principal: checkPrincipal(bob) })).toEqual({
      all: false,
      accounts: [{ account: "anthropic-main", role: "manager" }],
      next: null,
    });
    expect(await h.client.request(aclAccounts, { principal: checkPrincipal(va) })).toEqual({
      all: false,
      accounts: [{ account: "openai-main", role: "user" }],
      next: null,
    });
    expect(await h.client.request(aclAccounts, { principal: checkPrincipal(admin) })).toMatchObject({
      all: true,
    });
  });
});
