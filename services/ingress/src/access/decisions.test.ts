import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fakeFeed } from "../../test/fake-feed.js";
import { DecisionCache } from "./decisions.js";

const alice = { id: randomUUID(), kind: "user" as const, role: "member" as const };
const bob = { id: randomUUID(), kind: "user" as const, role: "member" as const };

describe("DecisionCache", () => {
  it("keeps allows for the TTL only", () => {
    let now = 1_000;
    const f = fakeFeed();
    const c = new DecisionCache(f.feed, 100, 1000, () => now);
    c.remember(alice, "a", f.feed.epoch());
    expect(c.allowed(alice, "a")).toBe(true);
    expect(c.allowed(alice, "b")).toBe(false);
    now += 101;
    expect(c.allowed(alice, "a")).toBe(false);
  });

  it("is not used while the feed is untrusted, nor stored when the epoch moved", () => {
    const f = fakeFeed();
    const c = new DecisionCache(f.feed, 10_000);
    const before = f.feed.epoch();
    f.emit({ type: "keys.all_revoked" });
    c.remember(alice, "a", before);
    expect(c.allowed(alice, "a")).toBe(false);
    c.remember(alice, "a", f.feed.epoch());
    f.setTrusted(false);
    expect(c.allowed(alice, "a")).toBe(false);
  });

  it("drops what each access event can end", () => {
    const f = fakeFeed();
    const c = new DecisionCache(f.feed, 10_000);
    const fill = () => {
      for (const p of [alice, bob]) for (const a of ["a", "b"]) c.remember(p, a, f.feed.epoch());
    };
    fill();
    f.emit({ type: "grant.removed", subject: { kind: "user", id: alice.id }, account: "a" });
    expect([c.allowed(alice, "a"), c.allowed(bob, "a"), c.allowed(alice, "b")]).toEqual([false, true, true]);
    fill();
    f.emit({ type: "grant.removed", subject: { kind: "team", id: randomUUID() }, account: "a" });
    expect([c.allowed(alice, "a"), c.allowed(bob, "a"), c.allowed(bob, "b")]).toEqual([false, false, true]);
    fill();
    f.emit({ type: "team_member.removed", teamId: randomUUID(), userId: bob.id });
    expect([c.allowed(bob, "a"), c.allowed(bob, "b"), c.allowed(alice, "a")]).toEqual([false, false, true]);
    fill();
    f.emit({ type: "account.disabled", account: "b" });
    expect([c.allowed(alice, "b"), c.allowed(bob, "b"), c.allowed(alice, "a")]).toEqual([false, false, true]);
    fill();
    f.emit({ type: "team.deleted", teamId: randomUUID() });
    expect(c.size).toBe(0);
    fill();
    f.reset();
    expect(c.size).toBe(0);
  });

  it("drops a route's decisions on its grant's removal and its deletion, never an account's of that name", () => {
    const f = fakeFeed();
    const c = new DecisionCache(f.feed, 10_000);
    // A route and an account may share a name: their decisions are kept apart (`route/<name>`).
    const fill = () => {
      for (const p of [alice, bob])
        for (const r of ["a", "route/a", "route/b"]) c.remember(p, r, f.feed.epoch());
    };
    const held = (p: typeof alice) => ["a", "route/a", "route/b"].map((r) => c.allowed(p, r));
    fill();
    f.emit({ type: "route_grant.removed", subject: { kind: "user", id: alice.id }, route: "a" });
    expect([held(alice), held(bob)]).toEqual([
      [true, false, true],
      [true, true, true],
    ]);
    fill();
    f.emit({ type: "route_grant.removed", subject: { kind: "team", id: randomUUID() }, route: "a" });
    expect([held(alice), held(bob)]).toEqual([
      [true, false, true],
      [true, false, true],
    ]);
    fill();
    f.emit({ type: "route.deleted", route: "b" });
    expect([held(alice), held(bob)]).toEqual([
      [true, true, false],
      [true, true, false],
    ]);
    fill();
    f.emit({ type: "grant.removed", subject: { kind: "team", id: randomUUID() }, account: "a" });
    expect([held(alice), held(bob)]).toEqual([
      [false, true, true],
      [false, true, true],
    ]);
    fill();
    f.emit({ type: "team_member.removed", teamId: randomUUID(), userId: bob.id });
    expect(held(bob)).toEqual([false, false, false]);
  });
});
