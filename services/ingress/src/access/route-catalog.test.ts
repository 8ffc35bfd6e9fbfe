import type { BusClient } from "@gatehouse/bus";
import type { ModelKind } from "@gatehouse/contracts";
import { Gate } from "@gatehouse/testkit";
import { describe, expect, it } from "vitest";
import { fakeFeed } from "../../test/fake-feed.js";
import { RouteCatalog } from "./route-catalog.js";

/** dispatch's routes as a map the test edits; every lookup is counted, and may be held open. */
function world() {
  const routes = new Map<string, ModelKind>();
  const asked: string[] = [];
  const gate = new Gate();
  let failing = false;
  const client = {
    request: async (_endpoint: unknown, payload: { names: string[] }) => {
      asked.push(...payload.names);
      const found = payload.names.flatMap((name) => {
        const kind = routes.get(name);
        return kind ? [{ name, kind, createdAt: "2025-01-01T00:00:00.000Z" }] : [];
      });
      await gate.passed();
      if (failing) throw new Error("the dispatch service did not answer in time");
      return { routes: found, next: null };
    },
  } as unknown as BusClient;
  let now = 1_000_000;
  const f = fakeFeed();
  const catalog = new RouteCatalog(client, f.feed, {
    ttlMs: 5_000,
    staleMs: 30_000,
    missMs: 500,
    now: () => now,
  });
  return {
    catalog,
    asked,
    routes,
    feed: f,
    fail: (on: boolean) => {
      failing = on;
    },
    advance: (ms: number) => {
      now += ms;
    },
    hold: () => gate.hold(),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("RouteCatalog", () => {
  it("answers a known route without a promise, and asks dispatch once for calls that miss together", async () => {
    const w = world();
    w.routes.set("smart", "chat");
    const release = w.hold();
    const first = [w.catalog.lookup("smart"), w.catalog.lookup("smart"), w.catalog.find("smart")];
    release();
    for (const answer of await Promise.all(first))
      expect(answer).toMatchObject({ name: "smart", kind: "chat" });
    expect(w.asked).toEqual(["smart"]);
    expect(w.catalog.lookup("smart")).toEqual({ name: "smart", kind: "chat", created: 1735689600 });
    expect(w.asked).toEqual(["smart"]);
  });

  it("past its TTL, answers from the entry while one refresh runs, then waits once the stale window is over", async () => {
    const w = world();
    w.routes.set("smart", "chat");
    await w.catalog.find("smart");
    w.advance(5_001);
    const release = w.hold();
    // Every call of a burst at the TTL: answered at once, one lookup for all of them.
    for (let i = 0; i < 64; i++) expect(w.catalog.lookup("smart")).toMatchObject({ name: "smart" });
    expect(w.asked).toEqual(["smart", "smart"]);
    release();
    await tick();
    w.advance(4_000);
    expect(w.catalog.lookup("smart")).toMatchObject({ name: "smart" });
    expect(w.asked).toEqual(["smart", "smart"]);
    // A refresh that fails leaves the entry in use until the stale window ends; then calls wait.
    w.advance(1_001);
    w.fail(true);
    expect(w.catalog.lookup("smart")).toMatchObject({ name: "smart" });
    w.advance(30_000);
    await expect(w.catalog.find("smart")).rejects.toThrow(/did not answer/);
  });

  it("past its TTL, does not answer from the entry while the feed is not trusted", async () => {
    const w = world();
    w.routes.set("smart", "chat");
    await w.catalog.find("smart");
    w.advance(5_001);
    w.feed.setTrusted(false);
    w.fail(true);
    await expect(w.catalog.find("smart")).rejects.toThrow(/did not answer/);
  });

  it("forgets a deleted route at once, and keeps no answer read while an event was applied", async () => {
    const w = world();
    w.routes.set("smart", "chat");
    await w.catalog.find("smart");
    w.routes.delete("smart");
    w.feed.emit({ type: "route.deleted", route: "smart" }, "dispatch");
    expect(await w.catalog.find("smart")).toBeUndefined();

    w.routes.set("fast", "chat");
    const release = w.hold();
    const during = w.catalog.find("fast");
    w.feed.emit({ type: "route.deleted", route: "other" }, "dispatch");
    // Asked after the event: not handed the lookup that left before it.
    const after = w.catalog.find("fast");
    release();
    expect(await during).toMatchObject({ name: "fast" });
    expect(await after).toMatchObject({ name: "fast" });
    expect(w.asked.filter((n) => n === "fast")).toHaveLength(2);
    // The answer read after the event is kept; the one read across it was not (it came first).
    await w.catalog.find("fast");
    expect(w.asked.filter((n) => n === "fast")).toHaveLength(2);
  });

  it("remembers an unknown name for 500 ms", async () => {
    const w = world();
    expect(await w.catalog.find("later")).toBeUndefined();
    w.routes.set("later", "embedding");
    expect(w.catalog.lookup("later")).toBeUndefined();
    w.advance(501);
    expect(await w.catalog.find("later")).toMatchObject({ kind: "embedding" });
    expect(w.asked).toEqual(["later", "later"]);
  });

  it("past its TTL, a refresh that failed is not asked again by every call of the stale window", async () => {
    const w = world();
    w.routes.set("smart", "chat");
    await w.catalog.find("smart");
    w.advance(5_001);
    w.fail(true);
    // dispatch answers at once, with an error: one call after another, each in the stale window.
    for (let i = 0; i < 50; i++) {
      expect(w.catalog.lookup("smart")).toMatchObject({ name: "smart" });
      await tick();
      w.advance(5);
    }
    expect(w.asked.length).toBe(2);
    // Half a second on, one more attempt; once dispatch answers the entry is fresh again.
    w.advance(300);
    w.fail(false);
    w.catalog.lookup("smart");
    await tick();
    expect(w.asked.length).toBe(3);
    w.catalog.lookup("smart");
    expect(w.asked.length).toBe(3);
  });

  it("keeps made-up names apart: a flood of them neither grows the cache nor pushes a real route out", async () => {
    const w = world();
    w.routes.set("smart", "chat");
    await w.catalog.find("smart");
    for (let i = 0; i < 12_000; i++) await w.catalog.find(`made-up-${i}`);
    expect(w.catalog.size).toBeLessThanOrEqual(10_001);
    const before = w.asked.length;
    expect(w.catalog.lookup("smart")).toMatchObject({ name: "smart" });
    expect(w.asked.length).toBe(before);
  });
});
