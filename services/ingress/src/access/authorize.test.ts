import type { BusClient } from "@gatehouse/bus";
import { GatehouseMetrics } from "@gatehouse/kit";
import { describe, expect, it } from "vitest";
import { fakeFeed } from "../../test/fake-feed.js";
import type { Caller } from "../auth/caller.js";
import type { IngressContext } from "../context.js";
import { authorizeModel, authorizeTarget, cachedDecisions } from "./authorize.js";

/** An ingress context whose dispatch knows account "a" with model "m", and whose acl is counted. */
function world(catalogGate?: Promise<void>) {
  const f = fakeFeed();
  const checks: string[] = [];
  const routeLookups: string[] = [];
  let allowed = true;
  const client = {
    request: async (
      endpoint: { service: string },
      payload: { account?: string; name?: string; names?: string[]; route?: string },
    ) => {
      if (endpoint.service === "dispatch" && payload.names) {
        routeLookups.push(...payload.names);
        return { routes: [], next: null };
      }
      if (endpoint.service === "dispatch" && payload.name !== "a") return { account: null };
      if (endpoint.service === "dispatch") {
        await catalogGate;
        return {
          account: {
            name: "a",
            enabled: true,
            createdAt: "2025-01-01T00:00:00.000Z",
            models: [{ name: "m", kind: "chat" }],
          },
        };
      }
      checks.push(payload.account ?? `route/${payload.route}`);
      await new Promise((r) => setImmediate(r));
      return { allowed };
    },
  } as unknown as BusClient;
  const ctx = {
    feed: f.feed,
    client,
    config: { catalogCacheMaxModels: 10_000 },
    metrics: new GatehouseMetrics(),
  } as unknown as IngressContext;
  const caller = {
    principal: { id: "00000000-0000-4000-8000-000000000001", kind: "user", role: "member", name: "x" },
    keyId: "k",
    keyKind: "pat",
    keyHash: "h",
  } as unknown as Caller;
  return {
    f,
    checks,
    routeLookups,
    call: () => authorizeModel(ctx, caller, "a/m"),
    callModel: (model: string) => authorizeTarget(ctx, caller, model),
    cached: () => cachedDecisions(ctx),
    deny: () => {
      allowed = false;
    },
  };
}

describe("authorizeModel", () => {
  it("shares one acl.check among concurrent calls asking the same", async () => {
    const w = world();
    const results = await Promise.all(Array.from({ length: 20 }, () => w.call()));
    expect(results.every((r) => r.account === "a" && r.model === "m")).toBe(true);
    expect(w.checks).toEqual(["a"]);
  });

  it("does not share a check with a call that comes after an event, nor while the feed is untrusted", async () => {
    const w = world();
    w.deny();
    const first = w.call();
    w.f.emit({ type: "account.disabled", account: "other" }, "dispatch");
    const second = w.call();
    await Promise.allSettled([first, second]);
    expect(w.checks).toEqual(["a", "a"]);
    w.f.setTrusted(false);
    await Promise.allSettled([w.call(), w.call()]);
    expect(w.checks).toHaveLength(4);
  });

  it("refuses a route name it knows does not exist without asking acl: made-up names cost no query per call", async () => {
    const w = world();
    w.deny(); // a caller with no grant on it: refusals are never cached
    for (let i = 0; i < 20; i++) {
      await expect(w.callModel("no-such-route")).rejects.toThrow(/does not exist/);
      await new Promise((r) => setTimeout(r, 1)); // the calls one after another, not sharing a check
    }
    expect(w.routeLookups).toEqual(["no-such-route"]);
    // The cold call asks dispatch and acl together (one round trip); the ones after it ask nobody.
    expect(w.checks).toEqual(["route/no-such-route"]);
  });

  it("refuses an account name it knows does not exist without asking acl", async () => {
    const w = world();
    w.deny();
    for (let i = 0; i < 20; i++) {
      await expect(w.callModel("no-such-account/m")).rejects.toThrow(/does not exist/);
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(w.checks).toEqual(["no-such-account"]);
  });

  it("stores an allow only for an account or route the catalog found: made-up names leave real ones in place", async () => {
    // acl allows this caller every name, as it does a tenant admin.
    const w = world();
    await w.call();
    expect(w.cached()).toBe(1);
    for (let i = 0; i < 50; i++) {
      await expect(w.callModel(`made-up-${i}/m`)).rejects.toThrow(/does not exist/);
      await expect(w.callModel(`made-up-route-${i}`)).rejects.toThrow(/does not exist/);
    }
    // acl's answers, asked together with dispatch's, may come after the 404s: let them all land.
    await new Promise((r) => setTimeout(r, 10));
    expect(w.checks).toHaveLength(101);
    // Nothing stored for a name that does not exist, so no flood of them can push "a" out.
    expect(w.cached()).toBe(1);
    const asked = w.checks.length;
    await w.call();
    expect(w.checks).toHaveLength(asked);
  });

  it("does not store an allow acl gave before a revocation that landed while the catalog was asked", async () => {
    let open!: () => void;
    const w = world(new Promise<void>((r) => (open = r)));
    const call = w.call();
    // acl's allow is in; dispatch's answer is not yet — and the grant is removed meanwhile.
    await new Promise((r) => setTimeout(r, 10));
    expect(w.checks).toEqual(["a"]);
    w.f.emit({
      type: "grant.removed",
      account: "a",
      subject: { kind: "user", id: "00000000-0000-4000-8000-000000000001" },
    } as never);
    open();
    await call; // this call raced the revocation: acl answered before it
    expect(w.cached()).toBe(0);
    w.deny();
    await expect(w.call()).rejects.toThrow(/do not have access/);
    expect(w.checks).toEqual(["a", "a"]);
  });
});
