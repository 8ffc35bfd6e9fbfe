import { GatehouseError } from "@gatehouse/contracts";
import { describe, expect, it } from "vitest";
import { breakerKey, TargetHealth, weightedOrder } from "./health.js";
import { failureClass } from "./runner.js";

/** A deterministic stand-in for Math.random (a linear congruential generator). */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("breaker", () => {
  it("opens after the threshold, skips for the cooldown, lets one probe through, closes on its success", () => {
    let now = 0;
    const h = new TargetHealth(() => now);
    expect(h.admit("t")).toBe("closed");
    h.failed("t", 2, 1_000);
    expect(h.admit("t")).toBe("closed");
    h.failed("t", 2, 1_000);
    expect(h.admit("t")).toBe("open");
    now = 999;
    expect(h.admit("t")).toBe("open");
    now = 1_000;
    expect(h.admit("t")).toBe("probe");
    expect(h.admit("t")).toBe("open"); // one probe at a time
    h.succeeded("t");
    expect(h.admit("t")).toBe("closed");
  });

  it("a failed probe opens it for another cooldown; a Retry-After longer than the cooldown wins", () => {
    let now = 0;
    const h = new TargetHealth(() => now);
    h.failed("t", 1, 1_000);
    now = 1_000;
    expect(h.admit("t")).toBe("probe");
    h.failed("t", 1, 1_000);
    now = 1_999;
    expect(h.admit("t")).toBe("open");
    h.failed("u", 5, 1_000, 30_000);
    now = 1_999 + 29_000;
    expect(h.admit("u")).toBe("open");
  });
});

describe("breaker state", () => {
  it("a 429 whose Retry-After is shorter than the cooldown is one failure like any other", () => {
    // docs/routing.md: threshold failures open it — or at once for a Retry-After of the cooldown or longer.
    let now = 0;
    const h = new TargetHealth(() => now);
    h.failed("t", 3, 30_000, 1_000);
    expect(h.admit("t")).toBe("closed");
    h.failed("t", 3, 30_000, 1_000);
    h.failed("t", 3, 30_000, 1_000);
    expect(h.admit("t")).toBe("open");
    now = 29_999;
    expect(h.admit("t")).toBe("open");
    now = 30_000;
    expect(h.admit("t")).toBe("probe");
    h.failed("u", 3, 30_000, 30_000); // as long as the cooldown: at once
    expect(h.admit("u")).toBe("open");
  });

  it("of a deleted route is forgotten, and other routes' is kept", () => {
    const h = new TargetHealth(() => 0);
    h.failed(breakerKey("gone", "a/m"), 1, 1_000);
    h.failed(breakerKey("gone", "b/m"), 1, 1_000);
    h.failed(breakerKey("gone-too", "a/m"), 1, 1_000); // a name the deleted one is a prefix of
    h.forgetRoute("gone");
    expect(h.admit(breakerKey("gone", "a/m"))).toBe("closed");
    expect(h.admit(breakerKey("gone", "b/m"))).toBe("closed");
    expect(h.admit(breakerKey("gone-too", "a/m"))).toBe("open");
    expect(h.breakers()).toBe(1);
  });

  it("is bounded however many routes come and go (the oldest breakers go first)", () => {
    const h = new TargetHealth(() => 0, 100);
    for (let i = 0; i < 1_000; i++) h.failed(breakerKey(`route-${i}`, "a/m"), 1, 1_000);
    expect(h.breakers()).toBe(100);
    expect(h.admit(breakerKey("route-999", "a/m"))).toBe("open");
    expect(h.admit(breakerKey("route-0", "a/m"))).toBe("closed");
  });
});

describe("balancing order", () => {
  it("weighted: each target comes first in proportion to its weight", () => {
    const random = seeded(7);
    const targets = [
      { id: "a", weight: 3 },
      { id: "b", weight: 1 },
    ];
    let a = 0;
    for (let i = 0; i < 10_000; i++) if (weightedOrder(targets, random)[0]?.id === "a") a++;
    expect(a / 10_000).toBeGreaterThan(0.73);
    expect(a / 10_000).toBeLessThan(0.77);
    expect(
      weightedOrder(targets, random)
        .map((t) => t.id)
        .sort(),
    ).toEqual(["a", "b"]);
  });

  it("least-busy puts the target with the fewest calls in flight first", () => {
    const h = new TargetHealth();
    const targets = [
      { id: "a", weight: 1 },
      { id: "b", weight: 1 },
    ];
    h.enter("a");
    expect(h.order("least-busy", targets)[0]?.id).toBe("b");
    h.leave("a");
    h.enter("b");
    expect(h.order("least-busy", targets)[0]?.id).toBe("a");
    expect(h.order("priority", targets).map((t) => t.id)).toEqual(["a", "b"]);
  });
});

describe("failure classes", () => {
  it("names what the route's fallback_on refers to", () => {
    expect(failureClass(new GatehouseError("provider_error", "x", { detail: "ECONNREFUSED: connect" }))).toBe(
      "connect",
    );
    expect(
      failureClass(new GatehouseError("provider_error", "x", { detail: "upstream status 503: busy" })),
    ).toBe("server_error");
    expect(failureClass(new GatehouseError("provider_rate_limited", "x"))).toBe("rate_limit");
    expect(failureClass(new GatehouseError("provider_timeout", "x"))).toBe("timeout");
    expect(failureClass(new GatehouseError("provider_invalid_request", "x"))).toBe("invalid_request");
    expect(failureClass(new GatehouseError("invalid_request", "x"))).toBeUndefined();
    expect(failureClass(new GatehouseError("client_closed", "x"))).toBeUndefined();
  });
});
