import { randomUUID } from "node:crypto";
import type { MockUpstream } from "@gatehouse/mock-upstreams";
import OpenAI from "openai";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelIds, must, teamWith } from "./access-api.js";
import { call, newMember } from "./identity-api.js";
import { caught } from "./inference-harness.js";
import { type RoutesWorld, startRoutesWorld } from "./routes-world.js";

// Issue 18: a grant made while its route or account is being deleted (existence check before the
// delete, insert after its purge) must not survive into a later route or account of the same name.

let world: RoutesWorld;

beforeAll(async () => {
  world = await startRoutesWorld();
}, 60_000);
afterAll(async () => {
  await world?.stop();
});

/** An account with one chat model `gpt` on a mock upstream. */
const upstreamAccount = (name: string, up: MockUpstream) => ({
  name,
  type: "openai",
  base_url: up.url,
  credentials: { api_key: up.apiKey },
  models: [{ name: "gpt", kind: "chat" }],
});

const ask = { messages: [{ role: "user" as const, content: "hi" }] };
const chatOn = (model: string) => world.openai().chat.completions.create({ model, ...ask });

/** Runs `lock` in a transaction of its own connection and keeps it open until released. */
function holdWhile(lock: (tx: postgres.TransactionSql) => Promise<unknown>) {
  const own = postgres(world.stack.env.DATABASE_URL ?? "", { max: 1, onnotice: () => {} });
  let release = () => {};
  const released = new Promise<void>((r) => {
    release = r;
  });
  let locked = () => {};
  const isLocked = new Promise<void>((r) => {
    locked = r;
  });
  const done = own.begin(async (tx) => {
    await lock(tx);
    locked();
    await released;
  });
  return {
    isLocked,
    async release() {
      release();
      await done;
      await own.end({ timeout: 2 });
    },
  };
}

/** Holds the resource's row locked, so dispatch's delete stops after acl's purge, at its row delete. */
function holdRow(table: "routes" | "provider_accounts", name: string) {
  return holdWhile((tx) => tx`select 1 from ${tx("dispatch")}.${tx(table)} where name = ${name} for update`);
}

async function grantCount(path: string): Promise<number> {
  return (await must(world.stack, world.adminKey, "GET", path)).data.length;
}

/** Deletes the resource while a grant on it is made between acl's purge and dispatch's row delete. */
async function deleteWithRacingGrant(
  table: "routes" | "provider_accounts",
  path: string,
  name: string,
): Promise<void> {
  const held = holdRow(table, name);
  await held.isLocked;
  const deleting = call(world.stack, world.adminKey, "DELETE", `${path}/${name}`);
  try {
    // The purge has run once the grant made before the delete is gone; the row delete now waits.
    const deadline = Date.now() + 10_000;
    while ((await grantCount(`${path}/${name}/grants`)) > 0) {
      if (Date.now() > deadline) throw new Error("the delete never purged the grants");
      await new Promise((r) => setTimeout(r, 20));
    }
    // The resource still exists, so ingress's existence check passes and acl inserts the grant.
    await must(
      world.stack,
      world.adminKey,
      "POST",
      `${path}/${name}/grants`,
      { subject: { kind: "virtual_account", id: world.vaId }, role: "user" },
      201,
    );
  } finally {
    await held.release();
  }
  expect((await deleting).status).toBe(200);
  // The delete cleared the name again once the row was gone: no orphan waits for the next create.
  expect(await grantCount(`${path}/${name}/grants`)).toBe(0);
}

describe("a grant never outlives its route or account", () => {
  it("a grant made while a route is deleted is not inherited by the next route of that name", async () => {
    const route = { name: "reborn", kind: "chat", targets: [{ model: "up-a/gpt" }] };
    await world.route(route);
    await world.grantRoute("reborn");
    // A call first: ingress now holds a cached allow for the route, which the delete must drop.
    await chatOn("reborn");
    await deleteWithRacingGrant("routes", "/api/v1/routes", "reborn");

    await world.route(route);
    expect(await grantCount("/api/v1/routes/reborn/grants")).toBe(0);
    expect(await caught(() => chatOn("reborn"))).toBeInstanceOf(OpenAI.PermissionDeniedError);
  });

  it("a grant made while an account is deleted is not inherited by the next account of that name", async () => {
    const account = upstreamAccount("reborn-acct", world.up.a);
    const create = () => must(world.stack, world.adminKey, "POST", "/api/v1/provider-accounts", account, 201);
    await create();
    await must(
      world.stack,
      world.adminKey,
      "POST",
      "/api/v1/provider-accounts/reborn-acct/grants",
      { subject: { kind: "virtual_account", id: world.vaId }, role: "user" },
      201,
    );
    expect(await modelIds(world.stack, world.vat)).toContain("reborn-acct/gpt");
    await chatOn("reborn-acct/gpt");
    await deleteWithRacingGrant("provider_accounts", "/api/v1/provider-accounts", "reborn-acct");

    await create();
    expect(await grantCount("/api/v1/provider-accounts/reborn-acct/grants")).toBe(0);
    expect(await modelIds(world.stack, world.vat)).not.toContain("reborn-acct/gpt");
    expect(await caught(() => chatOn("reborn-acct/gpt"))).toBeInstanceOf(OpenAI.PermissionDeniedError);
  });

  it("creating a route or account clears any grant left on its name, with the creator in the audit", async () => {
    // Left behind by a delete whose last purge never ran, or an insert that landed after it.
    for (const [resource, name] of [
      ["route", "leftover"],
      ["account", "leftover-acct"],
    ] as const) {
      await world.sql`insert into acl.grants (id, resource, account, subject_kind, subject_id, role, created_at)
        values (${randomUUID()}, ${resource}, ${name}, 'virtual_account', ${world.vaId}, 'manager', now())`;
    }
    await world.route({ name: "leftover", kind: "chat", targets: [{ model: "up-b/gpt" }] });
    await must(
      world.stack,
      world.adminKey,
      "POST",
      "/api/v1/provider-accounts",
      upstreamAccount("leftover-acct", world.up.b),
      201,
    );
    expect(await grantCount("/api/v1/routes/leftover/grants")).toBe(0);
    expect(await grantCount("/api/v1/provider-accounts/leftover-acct/grants")).toBe(0);
    expect(await caught(() => chatOn("leftover"))).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const cleared = await world.sql`select action, target_id from acl.audit_events
      where action in ('route_grant.clear', 'grant.clear') and target_id in ('leftover', 'leftover-acct')`;
    expect(cleared.map((r) => r.action).sort()).toEqual(["grant.clear", "route_grant.clear"]);
  });

  it("a grant request that saw the old route or account is refused once a new one of the name exists", async () => {
    // A member of a team: the grant goes to the team, and acl looks the team up before inserting.
    const member = await newMember(world.stack, world.adminKey, "late");
    const team = await teamWith(world.stack, world.adminKey, `late-${Date.now()}`, member.user.id);
    const account = upstreamAccount("phoenix-acct", world.up.c);
    const cases = [
      {
        path: "/api/v1/routes/phoenix",
        model: "phoenix",
        create: () => world.route({ name: "phoenix", kind: "chat", targets: [{ model: "up-c/gpt" }] }),
      },
      {
        path: "/api/v1/provider-accounts/phoenix-acct",
        model: "phoenix-acct/gpt",
        create: () => must(world.stack, world.adminKey, "POST", "/api/v1/provider-accounts", account, 201),
      },
    ];
    for (const { path, model, create } of cases) {
      await create();
      // acl's grant create waits at its team lookup: ingress's existence check has passed already.
      const held = holdWhile((tx) => tx`lock table acl.teams in access exclusive mode`);
      await held.isLocked;
      let granting: ReturnType<typeof call> | undefined;
      try {
        granting = call(world.stack, world.adminKey, "POST", `${path}/grants`, {
          subject: { kind: "team", id: team.id },
          role: "user",
        });
        await waitForLockWaiter('"acl"."teams"');
        // The whole delete, and a new resource of the same name, while the grant is on its way.
        await must(world.stack, world.adminKey, "DELETE", path);
        await create();
      } finally {
        await held.release();
      }
      const answer = await granting;
      expect(answer.status).toBe(404);
      expect(await grantCount(`${path}/grants`)).toBe(0);
      const asMember = world.openai(member.key);
      expect(await caught(() => asMember.chat.completions.create({ model, ...ask }))).toBeInstanceOf(
        OpenAI.PermissionDeniedError,
      );
    }
  });
});

/** Waits until a query on `relation` waits for a lock (the held-up step has reached it). */
async function waitForLockWaiter(relation: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [row] = await world.sql`select count(*)::int as n from pg_stat_activity
      where wait_event_type = 'Lock' and query like ${`%${relation}%`} and query not like '%pg_stat_activity%'`;
    if ((row?.n ?? 0) > 0) return;
    if (Date.now() > deadline) throw new Error(`nothing waited for a lock on ${relation}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
