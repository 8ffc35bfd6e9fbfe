import { randomUUID } from "node:crypto";
import {
  type Actor,
  aclAdminAuditList,
  aclAdminGrantsCreate,
  aclAdminRouteGrantsCreate,
  aclAdminRouteGrantsList,
  aclAdminRouteGrantsPurge,
  aclCheck,
  aclGrantsClear,
  type Principal,
} from "@gatehouse/contracts";
import { type Database, openDatabase } from "@gatehouse/db";
import { captureLogger, testNatsUrl } from "@gatehouse/testkit";
import { inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { pruneRetired, RETIRED_KEEP_MS } from "../src/db/retired.js";
import { retiredResources, schema } from "../src/db/schema.js";
import {
  type AclHarness,
  checkPrincipal,
  forgedAdmin,
  resourceIdOf,
  startAcl,
  streamEvents,
  user,
} from "./harness.js";

/** A `user` grant on a route for a principal acl knows nothing else about. */
const grantRoute = (route: string, subject: Principal) =>
  h.client.request(aclAdminRouteGrantsCreate, {
    actor: admin,
    route,
    resourceId: resourceIdOf(route),
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
    const deleted = { resource: "route", name: "cleared", resourceId: resourceIdOf("cleared") } as const;
    expect(await h.client.request(aclGrantsClear, { actor: creator, step: "delete", ...deleted })).toEqual({
      removed: 1,
    });

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
        detail: { removed: 1, step: "delete", resourceId: resourceIdOf("cleared") },
      }),
    );
    // Nothing left: a second clear removes nothing and publishes nothing.
    expect(await h.client.request(aclGrantsClear, { actor: creator, step: "delete", ...deleted })).toEqual({
      removed: 0,
    });
  });

  it("refuses a made-up actor: nothing cleared, and no audit row names a principal nobody proved", async () => {
    const alice = user();
    await grantRoute("kept", alice);
    const forged = forgedAdmin("forged-clear");
    await expect(
      h.client.request(aclGrantsClear, {
        actor: forged,
        step: "delete",
        resource: "route",
        name: "kept",
        resourceId: resourceIdOf("kept"),
      }),
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

describe("a name stands for one resource at a time: grants land only on the one their request saw", () => {
  const clear = (step: "create" | "delete", name: string, resourceId: string) =>
    h.client.request(aclGrantsClear, { actor: admin, step, resource: "route", name, resourceId });
  const grantOn = (route: string, resourceId: string, subject: Principal) =>
    h.client.request(aclAdminRouteGrantsCreate, {
      actor: admin,
      route,
      resourceId,
      subject: { kind: "user", id: subject.id },
      role: "user",
    });
  const held = async (route: string) =>
    (await h.client.request(aclAdminRouteGrantsList, { actor: admin, route, limit: 200 })).items.length;

  it("refuses a grant asked on a deleted resource, before and after one of the name is created again", async () => {
    const [old, reborn] = [randomUUID(), randomUUID()];
    await clear("create", "reused", old);
    await grantOn("reused", old, user());
    await clear("delete", "reused", old);
    await expect(grantOn("reused", old, user())).rejects.toMatchObject({ code: "not_found" });
    await clear("create", "reused", reborn);
    await expect(grantOn("reused", old, user())).rejects.toMatchObject({ code: "not_found" });
    expect(await held("reused")).toBe(0);
    await grantOn("reused", reborn, user());
    expect(await held("reused")).toBe(1);
  });

  it("a delete's clear that comes after a newer resource of the name was created leaves that one's grants", async () => {
    const [old, reborn] = [randomUUID(), randomUUID()];
    await clear("create", "late-clear", old);
    await clear("create", "late-clear", reborn);
    const bob = user();
    await grantOn("late-clear", reborn, bob);
    expect(await clear("delete", "late-clear", old)).toEqual({ removed: 0 });
    expect(
      await h.client.request(aclCheck, { principal: checkPrincipal(bob), route: "late-clear" }),
    ).toMatchObject({ allowed: true });
    await grantOn("late-clear", reborn, user());
    expect(await held("late-clear")).toBe(2);
  });

  it("a create's clear that lands after its failed create was retired changes nothing", async () => {
    const [doomed, reborn] = [randomUUID(), randomUUID()];
    // dispatch's create of `doomed` failed after it sent its clear, so it told acl that id is no
    // resource (a delete's clear); then a create of the name succeeded.
    await clear("delete", "stuck", doomed);
    await clear("create", "stuck", reborn);
    const dave = user();
    await grantOn("stuck", reborn, dave);
    // The failed create's clear, held up somewhere, lands last.
    expect(await clear("create", "stuck", doomed)).toEqual({ removed: 0 });
    expect(
      await h.client.request(aclCheck, { principal: checkPrincipal(dave), route: "stuck" }),
    ).toMatchObject({ allowed: true });
    await grantOn("stuck", reborn, user());
    expect(await held("stuck")).toBe(2);
  });

  it("refuses a retired id as the first claim of a name acl never heard of, and the claim is not kept", async () => {
    const gone = randomUUID();
    // dispatch said `gone` is no resource (its create failed, or it was deleted).
    await clear("create", "retired-source", gone);
    await clear("delete", "retired-source", gone);
    // A name acl never heard of (a pre-migration resource) is claimed by its first grant's id —
    // not by one dispatch retired.
    await expect(grantOn("never-announced", gone, user())).rejects.toMatchObject({ code: "not_found" });
    expect(await held("never-announced")).toBe(0);
    // The refused claim left the name unclaimed: a live resource's first grant still claims it.
    const live = randomUUID();
    await grantOn("never-announced", live, user());
    await expect(grantOn("never-announced", gone, user())).rejects.toMatchObject({ code: "not_found" });
    expect(await held("never-announced")).toBe(1);
  });

  it("two first claims at once, a retired id's and a live one's: the live one claims the name, every time", async () => {
    for (let i = 0; i < 8; i++) {
      const [gone, live] = [randomUUID(), randomUUID()];
      await clear("delete", `raced-source-${i}`, gone); // dispatch said `gone` is no resource
      const name = `raced-claim-${i}`;
      const [retiredClaim, liveClaim] = await Promise.allSettled([
        grantOn(name, gone, user()),
        grantOn(name, live, user()),
      ]);
      expect(retiredClaim).toMatchObject({ status: "rejected", reason: { code: "not_found" } });
      expect(liveClaim.status).toBe("fulfilled");
      expect(await held(name)).toBe(1);
      await expect(grantOn(name, gone, user())).rejects.toMatchObject({ code: "not_found" });
      await grantOn(name, live, user());
    }
  });

  it("clears exactly one name of one kind: not a longer name, nor an account of the same name", async () => {
    const carol = user();
    await grantOn("exact-1", resourceIdOf("exact-1"), carol);
    await h.client.request(aclAdminGrantsCreate, {
      actor: admin,
      account: "exact",
      resourceId: resourceIdOf("exact"),
      subject: { kind: "user", id: carol.id },
      role: "user",
    });
    await grantOn("exact", resourceIdOf("exact"), carol);
    expect(await clear("delete", "exact", resourceIdOf("exact"))).toEqual({ removed: 1 });
    const check = (on: { route: string } | { account: string }) =>
      h.client.request(aclCheck, { principal: checkPrincipal(carol), ...on });
    expect(await check({ route: "exact" })).toMatchObject({ allowed: false });
    expect(await check({ route: "exact-1" })).toMatchObject({ allowed: true });
    expect(await check({ account: "exact" })).toMatchObject({ allowed: true });
  });
});

let db: Database;
const orm = () => db.drizzle(schema);
const ago = (ms: number) => new Date(Date.now() - ms);

async function retire(at: Date): Promise<string> {
  const id = randomUUID();
  await orm().insert(retiredResources).values({ resourceId: id, retiredAt: at });
  return id;
}

async function kept(ids: string[]): Promise<string[]> {
  const rows = await orm()
    .select({ id: retiredResources.resourceId })
    .from(retiredResources)
    .where(inArray(retiredResources.resourceId, ids));
  return rows.map((r) => r.id).sort();
}

describe("acl.retired_resources is bounded: ids are kept a day, then pruned", () => {
  beforeAll(async () => {
    db = await openDatabase({ url: h.database.url, maxConnections: 2 });
  });
  afterAll(async () => {
    await db?.close();
  });

  it("prunes the ids retired longer ago than the retention, and keeps the recent ones", async () => {
    const old = [await retire(ago(RETIRED_KEEP_MS + 60_000)), await retire(ago(30 * 24 * 3600 * 1000))];
    const recent = [await retire(ago(3600 * 1000)), await retire(ago(RETIRED_KEEP_MS - 60_000))];
    expect((await pruneRetired(orm(), new Date())).removed).toBeGreaterThanOrEqual(2);
    expect(await kept([...old, ...recent])).toEqual([...recent].sort());
  });

  it("prunes a backlog in bounded batches (no statement deletes, locks or returns the whole table)", async () => {
    const old: string[] = [];
    for (let i = 0; i < 25; i++) old.push(await retire(ago(RETIRED_KEEP_MS + 60_000 + i)));
    const recent = await retire(ago(1_000));
    const pruned = await pruneRetired(orm(), new Date(), 10);
    expect(pruned.removed).toBeGreaterThanOrEqual(25);
    // 25 rows at most 10 a statement: three batches at least, the last one short.
    expect(pruned.batches).toBeGreaterThanOrEqual(3);
    expect(await kept([...old, recent])).toEqual([recent]);
  });

  it("an acl instance prunes when it starts", async () => {
    const old = await retire(ago(RETIRED_KEEP_MS + 60_000));
    const recent = await retire(ago(1_000));
    const second = buildApp(
      loadConfig({ NATS_URL: await testNatsUrl(), GATEHOUSE_PREFIX: h.prefix, DATABASE_URL: h.database.url }),
      { logger: captureLogger("acl-2").logger },
    );
    await second.start();
    try {
      for (let i = 0; i < 100 && (await kept([old])).length > 0; i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(await kept([old, recent])).toEqual([recent]);
    } finally {
      await second.stop();
    }
  });
});
