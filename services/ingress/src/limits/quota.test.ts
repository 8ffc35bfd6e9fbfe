import type { BusClient } from "@gatehouse/bus";
import type { LeaseResponse } from "@gatehouse/contracts";
import { describe, expect, it } from "vitest";
import { OUT_RECHECK_MS, Quota } from "./quota.js";

const MONTH_MS = 30 * 24 * 3_600_000;
const budget = { id: "b1", requestsPerMinute: null, tokensPerMinute: 1_000, failOpen: false };

/** A lessor answering from a script, and the amounts the slice asked for. */
function scripted(grants: number[]) {
  const asked: number[] = [];
  const ask = async (_c: BusClient, _id: string, _s: string | undefined, want: { tokens: number }) => {
    asked.push(want.tokens);
    const tokens = Math.min(want.tokens, grants.shift() ?? 0);
    const answer: LeaseResponse = {
      found: true,
      windowStart: 0,
      resetMs: MONTH_MS,
      requests: 0,
      tokens,
      remainingRequests: null,
      remainingTokens: 0,
    };
    return answer;
  };
  return { ask, asked };
}

describe("a slice that acl said was spent", () => {
  it("asks again after OUT_RECHECK_MS, so what other replicas give back later reaches it", async () => {
    const { ask, asked } = scripted([0, 100]);
    const q = new Quota(budget, undefined, 0, 100, budget, ask, "budgets");
    let now = 1_000_000;
    const client = {} as BusClient;
    expect(await q.refill(client, 10, () => now)).toBe("exhausted");
    expect(q.refusable(10)).toBe(true);

    now += OUT_RECHECK_MS - 1;
    q.roll(now);
    expect(q.refusable(10)).toBe(true);

    now += 1;
    q.roll(now);
    expect(q.refusable(10)).toBe(false);
    expect(await q.refill(client, 10, () => now)).toBe("granted");
    expect(q.fits(now, 10)).toBe(true);
    expect(asked).toHaveLength(2);
  });
});

describe("a recheck that cannot reach acl", () => {
  it("keeps what acl last said (the window is spent: a 429), rather than a 503", async () => {
    let reachable = true;
    const ask = async () => {
      if (!reachable) throw new Error("no responders");
      const answer: LeaseResponse = {
        found: true,
        windowStart: 0,
        resetMs: MONTH_MS,
        requests: 0,
        tokens: 0,
        remainingRequests: null,
        remainingTokens: 0,
      };
      return answer;
    };
    const q = new Quota(budget, undefined, 0, 100, budget, ask, "budgets");
    let now = 1_000_000;
    const client = {} as BusClient;
    expect(await q.refill(client, 10, () => now)).toBe("exhausted");
    reachable = false;
    now += OUT_RECHECK_MS;
    q.roll(now);
    expect(await q.refill(client, 10, () => now)).toBe("exhausted");
    expect(q.refusable(10)).toBe(true);
  });
});
