import { randomUUID } from "node:crypto";
import {
  aclAdminGrantsCreate,
  aclAdminGrantsList,
  aclGrantsClear,
  dispatchAdminAccountsCreate,
  dispatchAdminRoutesCreate,
} from "@gatehouse/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DispatchHarness, startDispatch } from "./harness.js";

// A create has acl clear the name (and make it stand for the new id) inside its transaction. When
// the transaction then fails, that id is no resource: dispatch tells acl so, and a clear for it that
// reaches acl later (held up while dispatch gave up on it) cannot take the name from a later create.

let h: DispatchHarness;

beforeAll(async () => {
  h = await startDispatch();
  // The create's audit row is written after its clear: failing it fails the create there.
  await h.sql.unsafe(`
    create function dispatch.refuse_doomed() returns trigger language plpgsql as $$
    begin
      if new.target_id like 'doomed%' and new.action like '%.create' then
        raise exception 'refused by the test';
      end if;
      return new;
    end $$;`);
}, 60_000);
afterAll(async () => {
  await h?.stop();
});

/** While on, a create of a name starting with `doomed` fails at its audit row, after its clear. */
async function refuseDoomed(on: boolean): Promise<void> {
  await h.sql`drop trigger if exists refuse_doomed on dispatch.audit_events`;
  if (on) {
    await h.sql`create trigger refuse_doomed before insert on dispatch.audit_events
      for each row execute function dispatch.refuse_doomed()`;
  }
}

async function standsFor(resource: string, name: string): Promise<string | null | undefined> {
  const [row] =
    await h.sql`select resource_id from acl.resource_names where resource = ${resource} and name = ${name}`;
  return row?.resource_id;
}

describe("a create that fails after its clear retires its id at acl", () => {
  it("an account: the name stands for nothing, and a late clear for the failed id changes nothing", async () => {
    const admin = h.ids.admin;
    const body = { actor: admin, type: "mock" as const, models: [{ name: "m", kind: "chat" as const }] };
    await refuseDoomed(true);
    await expect(
      h.client.request(dispatchAdminAccountsCreate, { ...body, name: "doomed-acct" }),
    ).rejects.toMatchObject({ code: "internal_error" });
    const [cleared] = await h.sql`select detail from acl.audit_events
      where action = 'grant.clear' and target_id = 'doomed-acct' and detail->>'step' = 'create'`;
    const failedId = cleared?.detail.resourceId as string;
    expect(failedId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await standsFor("account", "doomed-acct")).toBeNull();

    // A later create of the name, with a grant, then the failed create's clear arriving last.
    await refuseDoomed(false);
    const created = await h.client.request(dispatchAdminAccountsCreate, { ...body, name: "doomed-acct" });
    await h.client.request(aclAdminGrantsCreate, {
      actor: admin,
      account: "doomed-acct",
      resourceId: created.id,
      subject: { kind: "virtual_account", id: randomUUID() },
      role: "user",
    });
    expect(
      await h.client.request(aclGrantsClear, {
        actor: admin,
        step: "create",
        resource: "account",
        name: "doomed-acct",
        resourceId: failedId,
      }),
    ).toEqual({ removed: 0 });
    expect(await standsFor("account", "doomed-acct")).toBe(created.id);
    const grants = await h.client.request(aclAdminGrantsList, { actor: admin, account: "doomed-acct" });
    expect(grants.items).toHaveLength(1);
  });

  it("a route: the same", async () => {
    const admin = h.ids.admin;
    await h.client.request(dispatchAdminAccountsCreate, {
      actor: admin,
      name: "target",
      type: "mock",
      models: [{ name: "m", kind: "chat" }],
    });
    await refuseDoomed(true);
    await expect(
      h.client.request(dispatchAdminRoutesCreate, {
        actor: admin,
        name: "doomed-route",
        kind: "chat",
        targets: [{ model: "target/m" }],
      }),
    ).rejects.toMatchObject({ code: "internal_error" });
    expect(await standsFor("route", "doomed-route")).toBeNull();
    await refuseDoomed(false);
  });
});
