import {
  type Actor,
  aclAdminGrantsCreate,
  aclAdminGrantsList,
  dispatchAdminAccountsCreate,
  dispatchAdminAccountsDelete,
  dispatchAdminAccountsDisable,
  dispatchAdminAccountsEnable,
  dispatchAdminAccountsGet,
  dispatchAdminAccountsList,
  dispatchAdminAccountsUpdate,
  dispatchCatalogAccount,
  type Principal,
} from "@gatehouse/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DispatchHarness, startDispatch, streamEvents } from "./harness.js";

let h: DispatchHarness;
let admin: Actor;
let managerUser: Principal;
let manager: Actor;
let memberUser: Principal;
let member: Actor;

beforeAll(async () => {
  h = await startDispatch();
  admin = h.ids.admin;
  manager = await h.ids.user();
  managerUser = manager.principal;
  member = await h.ids.user();
  memberUser = member.principal;
  const ids: Record<string, string> = {};
  for (const name of ["team-a", "team-b"]) {
    ids[name] = (
      await h.client.request(dispatchAdminAccountsCreate, {
        actor: admin,
        name,
        type: "mock",
        models: [{ name: "m1", kind: "chat" }],
      })
    ).id;
  }
  await h.client.request(aclAdminGrantsCreate, {
    actor: admin,
    account: "team-a",
    resourceId: ids["team-a"] ?? "",
    subject: { kind: "user", id: managerUser.id },
    role: "manager",
  });
  await h.client.request(aclAdminGrantsCreate, {
    actor: admin,
    account: "team-a",
    resourceId: ids["team-a"] ?? "",
    subject: { kind: "user", id: memberUser.id },
    role: "user",
  });
});
afterAll(async () => {
  await h?.stop();
});

describe("who may change a provider account", () => {
  it("a member cannot create or delete accounts", async () => {
    await expect(
      h.client.request(dispatchAdminAccountsCreate, { actor: member, name: "mine", type: "mock" }),
    ).rejects.toMatchObject({ code: "permission_denied" });
    await expect(
      h.client.request(dispatchAdminAccountsDelete, { actor: manager, name: "team-a" }),
    ).rejects.toMatchObject({ code: "permission_denied" });
  });

  it("a manager updates, disables and enables their account but not another", async () => {
    const updated = await h.client.request(dispatchAdminAccountsUpdate, {
      actor: manager,
      name: "team-a",
      models: [
        { name: "m1", kind: "chat" },
        { name: "m2", kind: "embedding" },
      ],
    });
    expect(updated.models).toHaveLength(2);
    await expect(
      h.client.request(dispatchAdminAccountsUpdate, { actor: manager, name: "team-b", models: [] }),
    ).rejects.toMatchObject({ code: "permission_denied" });
    await expect(
      h.client.request(dispatchAdminAccountsDisable, { actor: manager, name: "team-b" }),
    ).rejects.toMatchObject({ code: "permission_denied" });
  });

  it("a user-role grant lets one read the account but not change it", async () => {
    const got = await h.client.request(dispatchAdminAccountsGet, { actor: member, name: "team-a" });
    expect(got.name).toBe("team-a");
    await expect(
      h.client.request(dispatchAdminAccountsUpdate, { actor: member, name: "team-a", models: [] }),
    ).rejects.toMatchObject({ code: "permission_denied" });
    await expect(
      h.client.request(dispatchAdminAccountsGet, { actor: member, name: "team-b" }),
    ).rejects.toMatchObject({ code: "permission_denied" });
    const list = await h.client.request(dispatchAdminAccountsList, { actor: member });
    expect(list.items.map((a) => a.name)).toEqual(["team-a"]);
  });

  it("disabling publishes account.disabled once; enabling publishes nothing", async () => {
    const disabled = await h.client.request(dispatchAdminAccountsDisable, { actor: manager, name: "team-a" });
    expect(disabled.enabled).toBe(false);
    await h.client.request(dispatchAdminAccountsDisable, { actor: manager, name: "team-a" });
    expect((await h.client.request(dispatchCatalogAccount, { name: "team-a" })).account?.enabled).toBe(false);
    await h.client.request(dispatchAdminAccountsEnable, { actor: manager, name: "team-a" });
    const events = (await streamEvents(h)).map((e) => e.event);
    expect(events).toEqual([{ type: "account.disabled", account: "team-a" }]);
  });

  it("deleting drops the account's grants first and publishes account.deleted", async () => {
    await h.client.request(dispatchAdminAccountsDelete, { actor: admin, name: "team-a" });
    await expect(
      h.client.request(dispatchAdminAccountsGet, { actor: admin, name: "team-a" }),
    ).rejects.toMatchObject({ code: "not_found" });
    const grants = await h.client.request(aclAdminGrantsList, { actor: admin, account: "team-a" });
    expect(grants.items).toEqual([]);
    const events = await streamEvents(h);
    expect(events.filter((e) => e.source === "dispatch").map((e) => e.event)).toContainEqual({
      type: "account.deleted",
      account: "team-a",
    });
    // A new account under the old name starts with no grants: the old member cannot reach it.
    await h.client.request(dispatchAdminAccountsCreate, { actor: admin, name: "team-a", type: "mock" });
    await expect(
      h.client.request(dispatchAdminAccountsGet, { actor: member, name: "team-a" }),
    ).rejects.toMatchObject({ code: "permission_denied" });
  });
});
