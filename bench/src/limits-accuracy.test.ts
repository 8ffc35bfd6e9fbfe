import { describe, expect, it } from "vitest";
import {
  type CallRecord,
  resetMs,
  type Scenario,
  tally,
  windowFromReset,
  withinTarget,
} from "./limits-accuracy.js";

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 30, 5, 0, 0);

function admittedAt(sentAt: number, resetHeader: string | undefined, status = 200): CallRecord {
  return {
    status,
    sentAt,
    headers: resetHeader === undefined ? {} : { "x-ratelimit-reset-requests": resetHeader },
    totalTokens: 16,
  };
}

const scenario: Scenario = {
  key: "requests",
  label: "10 requests/min",
  unit: "requests",
  body: "{}",
  connections: 3,
  create: async () => undefined,
  allowed: 10,
  windowMs: MINUTE,
  windowOf: (c) => windowFromReset(c, "x-ratelimit-reset-requests", MINUTE),
  counts: () => 1,
  bound: { over: 0, under: 2, formula: "" },
};

describe("reading the windows calls were admitted in", () => {
  it("parses OpenAI's reset durations", () => {
    expect(resetMs("12.3s")).toBe(12_300);
    expect(resetMs("0s")).toBe(0);
    expect(resetMs(undefined)).toBeUndefined();
    expect(resetMs("soon")).toBeUndefined();
  });

  it("places a call sent just before a boundary but admitted after it in the next window", () => {
    // Sent 20 ms before 05:01, admitted at 05:01:00.010: the replica says the window ends in 60 s.
    const late = admittedAt(T0 + MINUTE - 20, "60s");
    expect(windowFromReset(late, "x-ratelimit-reset-requests", MINUTE)).toBe(T0 + MINUTE);
    const early = admittedAt(T0 + MINUTE - 20, "0s");
    expect(windowFromReset(early, "x-ratelimit-reset-requests", MINUTE)).toBe(T0);
  });
});

describe("admitted vs allowed per window", () => {
  it("judges a whole window from both sides and a partial one only from above", () => {
    const calls: CallRecord[] = [];
    // Window 05:00 (whole): 10 admitted, 5 refused. Window 05:01 (half covered): 4 admitted.
    for (let i = 0; i < 10; i++) calls.push(admittedAt(T0 + i * 100, `${60 - i * 0.1}s`));
    for (let i = 0; i < 5; i++) calls.push(admittedAt(T0 + 2_000 + i, "58s", 429));
    for (let i = 0; i < 4; i++) calls.push(admittedAt(T0 + MINUTE + i * 100, "59s"));
    calls.push(admittedAt(T0 + 3_000, undefined, 503));
    const rows = tally(scenario, calls, T0, T0 + MINUTE + 30_000);
    expect(rows.map((r) => [r.admitted, r.refused, r.other, r.full, r.within])).toEqual([
      [10, 5, 1, true, true],
      [4, 0, 0, false, true],
    ]);
    expect(rows[1]?.coveredMs).toBe(30_000);
  });

  it("judges a budget's day from below once the load spent it (refusals), not before", () => {
    const DAY = 24 * 60 * MINUTE;
    const budget: Scenario = {
      ...scenario,
      key: "dollars",
      allowed: 2,
      windowMs: DAY,
      windowOf: (c) => Math.floor(c.sentAt / DAY) * DAY,
      counts: () => 0.5,
      bound: { over: 0.1, under: 0.2, formula: "" },
      spentInRun: true,
    };
    const spent = [
      admittedAt(T0, undefined),
      admittedAt(T0 + 1, undefined),
      admittedAt(T0 + 2, undefined, 429),
    ];
    // $1 admitted of $2, then refused: under-admitted past the bound, though the run covered minutes.
    expect(tally(budget, spent, T0, T0 + 2 * MINUTE).map((r) => [r.full, r.within])).toEqual([[true, false]]);
    // Not refused yet: the budget was not spent, so only the upper side is judged.
    expect(tally(budget, spent.slice(0, 2), T0, T0 + 2 * MINUTE).map((r) => [r.full, r.within])).toEqual([
      [false, true],
    ]);
  });

  it("flags a window admitted past the allowance plus the bound and the 2 % slack", () => {
    expect(withinTarget(10, 10, scenario.bound, true)).toBe(true);
    expect(withinTarget(11, 10, scenario.bound, true)).toBe(false);
    expect(withinTarget(1_020, 1_000, { over: 0, under: 0, formula: "" }, true)).toBe(true);
    expect(withinTarget(1_021, 1_000, { over: 0, under: 0, formula: "" }, true)).toBe(false);
    expect(withinTarget(7, 10, scenario.bound, true)).toBe(false);
    expect(withinTarget(7, 10, scenario.bound, false)).toBe(true);
  });
});
