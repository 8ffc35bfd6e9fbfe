import { Gate } from "@gatehouse/testkit";
import { describe, expect, it } from "vitest";
import type { DispatchDb } from "../accounts/context.js";
import { RoutePlans } from "./plans.js";
import type { RoutePlan } from "./store.js";

/**
 * RoutePlans' caching over its reads: the read itself (two queries on dispatch's tables) is the
 * e2e route tests' to cover; here each read is counted, may be held open, and returns the
 * targets the test set last.
 */
class CountedPlans extends RoutePlans {
  reads = 0;
  targets = ["a"];
  failing = false;
  private readonly gate = new Gate();
  at = 1_000_000;

  constructor() {
    super(undefined as unknown as DispatchDb, 5_000, 10_000, () => this.at);
  }

  hold(): () => void {
    return this.gate.hold();
  }

  protected override async load(name: string): Promise<RoutePlan | undefined> {
    this.reads++;
    const targets = this.targets.map((account) => ({
      account,
      model: "gpt",
      id: `${account}/gpt`,
      weight: 1,
      breaker: `${name}\u0000${account}/gpt`,
    }));
    await this.gate.passed();
    if (this.failing) throw new Error("database unavailable");
    return {
      name,
      kind: "chat",
      strategy: "priority",
      targets,
      fallbackOn: new Set(["connect"]),
      firstByteTimeoutMs: 60_000,
      cooldownMs: 30_000,
      failureThreshold: 3,
    };
  }
}

const tick = () => new Promise((r) => setImmediate(r));
const accounts = (plan: RoutePlan | undefined) => plan?.targets.map((t) => t.account);

describe("RoutePlans", () => {
  it("reads a plan once for calls that ask together, then serves it from memory", async () => {
    const plans = new CountedPlans();
    const release = plans.hold();
    const both = Promise.all([plans.get("r"), plans.get("r")]);
    expect(plans.peek("r")).toBeUndefined();
    release();
    expect((await both).map(accounts)).toEqual([["a"], ["a"]]);
    expect(accounts(plans.peek("r"))).toEqual(["a"]);
    expect(plans.reads).toBe(1);
  });

  it("past its TTL, the calls keep the plan they have while one read replaces it", async () => {
    const plans = new CountedPlans();
    await plans.get("r");
    plans.at += 5_001;
    plans.targets = ["b"];
    const release = plans.hold();
    // A burst at the TTL: nobody waits on the database, one read for all of them.
    for (let i = 0; i < 64; i++) expect(accounts(plans.peek("r"))).toEqual(["a"]);
    expect(accounts(await plans.get("r"))).toEqual(["a"]);
    expect(plans.reads).toBe(2);
    release();
    await tick();
    expect(accounts(plans.peek("r"))).toEqual(["b"]);
    expect(plans.reads).toBe(2);
  });

  it("does not keep a read that a drop overtook, and forgets a plan whose read failed", async () => {
    const plans = new CountedPlans();
    await plans.get("r");
    plans.at += 5_001;
    const release = plans.hold();
    plans.peek("r"); // starts the read
    plans.targets = ["c"];
    plans.drop("r"); // route.updated: what the read returns may predate it
    release();
    await tick();
    expect(plans.peek("r")).toBeUndefined();
    expect(accounts(await plans.get("r"))).toEqual(["c"]);

    plans.at += 5_001;
    plans.failing = true;
    expect(accounts(plans.peek("r"))).toEqual(["c"]);
    await tick();
    // The failed read dropped the plan: the next call reads it itself and sees the error.
    expect(plans.peek("r")).toBeUndefined();
    await expect(plans.get("r")).rejects.toThrow(/database unavailable/);
  });

  it("stops using a plan whose read hangs once it is a TTL past its own, and reads it anew", async () => {
    const plans = new CountedPlans();
    await plans.get("r");
    plans.at += 5_001;
    plans.hold(); // never released: the database does not answer this read
    expect(accounts(plans.peek("r"))).toEqual(["a"]); // starts the read, keeps the plan meanwhile
    plans.at += 4_998;
    expect(accounts(plans.peek("r"))).toEqual(["a"]);
    expect(plans.reads).toBe(2);
    // Two TTLs after it was read: the plan is not used any more, however long the read takes.
    plans.at += 2;
    expect(plans.peek("r")).toBeUndefined();
    let settled = false;
    void plans.get("r").then(() => {
      settled = true;
    });
    await tick();
    expect(settled).toBe(false);
    expect(plans.reads).toBe(3);
  });

  it("does not hand the first call after an idle hour the plan read an hour ago", async () => {
    const plans = new CountedPlans();
    await plans.get("r");
    plans.at += 3_600_000;
    plans.targets = ["b"];
    expect(plans.peek("r")).toBeUndefined();
    expect(accounts(await plans.get("r"))).toEqual(["b"]);
  });
});
