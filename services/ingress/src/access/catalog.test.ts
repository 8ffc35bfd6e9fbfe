import type { BusClient } from "@gatehouse/bus";
import type { CatalogAccount } from "@gatehouse/contracts";
import { describe, expect, it } from "vitest";
import { fakeFeed } from "../../test/fake-feed.js";
import { CatalogCache } from "./catalog.js";

/** dispatch's catalog as a map the test edits; every lookup is counted, and may be held open. */
function world(options: { maxModels?: number; staleMs?: number } = {}) {
  const accounts = new Map<string, CatalogAccount>();
  const asked: string[] = [];
  let gate: Promise<void> | undefined;
  let failing = false;
  const client = {
    request: async (_endpoint: unknown, payload: { name: string }) => {
      asked.push(payload.name);
      const answer = accounts.get(payload.name) ?? null;
      await gate;
      if (failing) throw new Error("the dispatch service did not answer in time");
      return { account: answer && structuredClone(answer) };
    },
  } as unknown as BusClient;
  let now = 1_000_000;
  const f = fakeFeed();
  const cache = new CatalogCache(client, f.feed, {
    ttlMs: 5_000,
    missRefreshMs: 500,
    ...(options.staleMs === undefined ? {} : { staleMs: options.staleMs }),
    maxModels: options.maxModels ?? 10_000,
    maxUnknown: 100,
    now: () => now,
  });
  const add = (name: string, models: string[], enabled = true) =>
    accounts.set(name, {
      name,
      enabled,
      createdAt: "2025-01-01T00:00:00.000Z",
      models: models.map((m) => ({ name: m, kind: "chat" })),
    });
  return {
    cache,
    asked,
    add,
    accounts,
    feed: f,
    fail: (on: boolean) => {
      failing = on;
    },
    advance: (ms: number) => {
      now += ms;
    },
    hold: () => {
      let release = () => {};
      gate = new Promise<void>((r) => {
        release = r;
      });
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

describe("CatalogCache", () => {
  it("asks dispatch once per account and answers from cache while the feed is trusted", async () => {
    const w = world();
    w.add("a", ["m"]);
    expect((await w.cache.find("a", "m"))?.models.get("m")).toBe("chat");
    expect(await w.cache.find("a", "m")).toMatchObject({ name: "a", enabled: true, created: 1735689600 });
    expect(w.asked).toEqual(["a"]);
    w.advance(5_001);
    await w.cache.find("a", "m");
    expect(w.asked).toEqual(["a", "a"]);
  });

  it("past its TTL, answers from the entry while one refresh runs, and keeps doing so if it fails", async () => {
    const w = world({ staleMs: 30_000 });
    w.add("a", ["m"]);
    await w.cache.find("a", "m");
    w.advance(5_001);
    w.accounts.get("a")?.models.push({ name: "m2", kind: "chat" });
    const release = w.hold();
    const answers = await Promise.all([w.cache.find("a", "m"), w.cache.find("a", "m")]);
    expect(answers.map((a) => a?.models.has("m"))).toEqual([true, true]);
    expect(w.asked).toEqual(["a", "a"]);
    release();
    await new Promise((r) => setImmediate(r));
    expect((await w.cache.find("a", "m2"))?.models.has("m2")).toBe(true);
    expect(w.asked).toEqual(["a", "a"]);
    // A refresh that fails leaves the entry in use until the stale window ends; then calls wait.
    w.advance(5_001);
    w.fail(true);
    expect((await w.cache.find("a", "m"))?.name).toBe("a");
    w.advance(30_000);
    await expect(w.cache.find("a", "m")).rejects.toThrow(/did not answer/);
  });

  it("past its TTL, a refresh that failed is not asked again by every call of the stale window", async () => {
    const w = world({ staleMs: 30_000 });
    w.add("a", ["m"]);
    await w.cache.find("a", "m");
    w.advance(5_001);
    w.fail(true);
    for (let i = 0; i < 50; i++) {
      expect((await w.cache.find("a", "m"))?.name).toBe("a");
      await new Promise((r) => setImmediate(r));
      w.advance(5);
    }
    expect(w.asked).toEqual(["a", "a"]);
    w.advance(300);
    w.fail(false);
    await w.cache.find("a", "m");
    await new Promise((r) => setImmediate(r));
    await w.cache.find("a", "m");
    expect(w.asked).toEqual(["a", "a", "a"]);
  });

  it("past its TTL, does not answer from the entry while the feed is not trusted", async () => {
    const w = world({ staleMs: 30_000 });
    w.add("a", ["m"]);
    await w.cache.find("a", "m");
    w.advance(5_001);
    w.feed.setTrusted(false);
    w.fail(true);
    await expect(w.cache.find("a", "m")).rejects.toThrow(/did not answer/);
  });

  it("asks every time while the feed is not trusted, concurrent lookups too", async () => {
    const w = world();
    w.add("a", ["m"]);
    await w.cache.find("a");
    w.feed.setTrusted(false);
    const release = w.hold();
    const both = Promise.all([w.cache.find("a"), w.cache.find("a")]);
    release();
    await both;
    expect(w.asked).toEqual(["a", "a", "a"]);
  });

  it("gives a lookup made after the feed stopped being trusted or was reset no answer read before", async () => {
    // dispatch read the account before a disable committed; this replica never heard the event, so
    // the disable returned once the lease ran out (feed untrusted) — or the replica reset.
    for (const lose of ["trust", "reset"] as const) {
      const w = world();
      w.add("a", ["m"]);
      const release = w.hold();
      const before = w.cache.find("a", "m");
      w.add("a", ["m"], false);
      if (lose === "trust") w.feed.setTrusted(false);
      else w.feed.reset();
      const after = w.cache.find("a", "m");
      release();
      expect((await before)?.enabled).toBe(true);
      expect((await after)?.enabled, lose).toBe(false);
    }
  });

  it("drops an account on its disable or delete event, and everything on a reset", async () => {
    const w = world();
    w.add("a", ["m"]);
    w.add("b", ["m"]);
    await w.cache.find("a");
    await w.cache.find("b");
    w.feed.emit({ type: "account.disabled", account: "a" }, "dispatch");
    await w.cache.find("a");
    await w.cache.find("b");
    expect(w.asked).toEqual(["a", "b", "a"]);
    w.feed.reset();
    await w.cache.find("b");
    expect(w.asked).toEqual(["a", "b", "a", "b"]);
  });

  it("does not keep an answer fetched while an event was applied or the account was dropped", async () => {
    const w = world();
    w.add("a", ["m"]);
    let release = w.hold();
    const during = w.cache.find("a");
    w.feed.emit({ type: "account.deleted", account: "other" }, "dispatch");
    release();
    await during;
    await w.cache.find("a");
    expect(w.asked).toEqual(["a", "a"]);

    release = w.hold();
    const raced = w.cache.find("a");
    w.add("a", ["m", "new"]);
    w.cache.drop("a"); // an admin change made through this replica
    const after = w.cache.find("a", "new");
    release();
    await raced;
    expect((await after)?.models.has("new")).toBe(true);
  });

  it("looks again for a model it does not list, or a disabled account, at most every 500 ms", async () => {
    const w = world();
    w.add("a", ["m"]);
    w.add("off", ["m"], false);
    await w.cache.find("a", "m");
    await w.cache.find("off", "m");
    w.add("a", ["m", "added"]);
    w.add("off", ["m"], true);
    expect((await w.cache.find("a", "added"))?.models.has("added")).toBe(false);
    expect((await w.cache.find("off", "m"))?.enabled).toBe(false);
    expect(w.asked).toEqual(["a", "off"]);
    w.advance(500);
    expect((await w.cache.find("a", "added"))?.models.has("added")).toBe(true);
    expect((await w.cache.find("off", "m"))?.enabled).toBe(true);
    expect(w.asked).toEqual(["a", "off", "a", "off"]);
  });

  it("remembers unknown names briefly, apart from known accounts, so made-up names evict none", async () => {
    const w = world();
    w.add("real", ["m"]);
    await w.cache.find("real");
    for (let i = 0; i < 1_000; i++) expect(await w.cache.find(`made-up-${i}`)).toBeUndefined();
    expect(await w.cache.find("made-up-999")).toBeUndefined();
    expect(w.asked.filter((n) => n === "made-up-999")).toHaveLength(1);
    await w.cache.find("real");
    expect(w.asked.filter((n) => n === "real")).toHaveLength(1);
    // A new account under a name that was unknown is found once the negative entry is 500 ms old.
    w.add("made-up-999", ["m"]);
    w.advance(501);
    expect(await w.cache.find("made-up-999")).toMatchObject({ name: "made-up-999" });
  });

  it("is bounded by models: large accounts push out the least recently used", async () => {
    const w = world({ maxModels: 2_500 });
    const many = (n: number) => Array.from({ length: n }, (_, i) => `m${i}`);
    for (const name of ["a", "b", "c"]) w.add(name, many(1_000));
    await w.cache.find("a");
    await w.cache.find("b");
    await w.cache.find("a"); // a is now the most recently used
    await w.cache.find("c"); // 3,003 > 2,500: b goes
    expect(w.asked).toEqual(["a", "b", "c"]);
    await w.cache.find("a");
    await w.cache.find("b");
    expect(w.asked).toEqual(["a", "b", "c", "b"]);
  });
});
