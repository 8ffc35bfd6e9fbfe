import type { BusClient } from "@gatehouse/bus";
import { GatehouseMetrics } from "@gatehouse/kit";
import { describe, expect, it } from "vitest";
import { fakeFeed } from "../../test/fake-feed.js";
import type { Caller } from "../auth/caller.js";
import type { IngressContext } from "../context.js";
import { authorizeModel } from "./authorize.js";

/** An ingress context whose dispatch knows account "a" with model "m", and whose acl is counted. */
function world() {
  const f = fakeFeed();
  const checks: string[] = [];
  let allowed = true;
  const client = {
    request: async (endpoint: { service: string }, payload: { account?: string; name?: string }) => {
      if (endpoint.service === "dispatch") {
        return {
          account: {
            name: "a",
            enabled: true,
            createdAt: "2025-01-01T00:00:00.000Z",
            models: [{ name: "m", kind: "chat" }],
          },
        };
      }
      checks.push(payload.account ?? "");
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
    call: () => authorizeModel(ctx, caller, "a/m"),
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
});
