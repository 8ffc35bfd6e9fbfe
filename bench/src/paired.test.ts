import { describe, expect, it } from "vitest";
import {
  compareRounds,
  compareWindows,
  generationRounds,
  type Measurement,
  mirroredSchedule,
  pairSchedule,
  startOrder,
  verdict,
} from "./paired.js";
import { median, medianInterval } from "./stats.js";

const m = (requests: number, cpuMs = requests / 10, seconds = 1): Measurement => ({
  requests,
  seconds,
  cpuMs,
});

describe("the mirrored schedule", () => {
  it("measures every instance twice a round in mirrored order, rotating the order by one each round", () => {
    const steps = mirroredSchedule(["off", "on", "off2"], 3);
    expect(steps.map((s) => s.key).join(" ")).toBe(
      ["off on off2 off2 on off", "on off2 off off off2 on", "off2 off on on off off2"].join(" "),
    );
    expect(steps.filter((s) => s.round === 1)).toHaveLength(6);
  });

  it("gives each instance the same mean position in every round, so linear drift hits all alike", () => {
    const keys = ["a", "b", "c", "d", "e"];
    const steps = mirroredSchedule(keys, 5);
    for (let round = 0; round < 5; round++) {
      const mean = (k: string) => {
        const at = steps.flatMap((s, i) => (s.round === round && s.key === k ? [i] : []));
        expect(at).toHaveLength(2);
        return at.reduce((sum, i) => sum + i, 0) / 2;
      };
      for (const k of keys) expect(mean(k)).toBe(mean("a"));
    }
    // Over as many rounds as instances, each instance opens a round once.
    expect(new Set(steps.filter((_s, i) => i % 10 === 0).map((s) => s.key)).size).toBe(5);
  });
});

describe("the median and its interval", () => {
  it("takes the middle value, or the mean of the two middle ones", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it("uses the order statistics whose coverage is at least the level asked for", () => {
    // n = 8: [x(2), x(7)] covers 1 − 2·9/256 = 92.97 %; [x(3), x(6)] only 71 %.
    const r = medianInterval([8, 1, 7, 2, 6, 3, 5, 4], 0.9);
    expect([r.lo, r.median, r.hi]).toEqual([2, 4.5, 7]);
    expect(r.confidence).toBeCloseTo(0.9297, 4);
    // n = 16 at 95 %: [x(4), x(13)] covers 97.9 %; [x(5), x(12)] only 92.3 %.
    const s = medianInterval(
      Array.from({ length: 16 }, (_, i) => i + 1),
      0.95,
    );
    expect([s.lo, s.hi]).toEqual([4, 13]);
    expect(s.confidence).toBeCloseTo(0.9787, 4);
  });

  it("falls back to the whole range, with its own coverage, when there are too few values", () => {
    const r = medianInterval([3, 1, 2], 0.9);
    expect([r.lo, r.hi]).toEqual([1, 3]);
    expect(r.confidence).toBeCloseTo(0.75, 6);
    expect(medianInterval([], 0.9).median).toBeNaN();
  });
});

describe("comparing rounds", () => {
  it("pools each side's two measurements, so drift linear over the round cancels", () => {
    // The machine slows by 100 req/s per measurement; B is 10 % slower than A throughout.
    const a = [m(1000), m(700)];
    const b = [m(900 * 0.9), m(800 * 0.9)];
    const c = compareRounds([{ a, b }]);
    expect(c.perRound[0]?.change).toBeCloseTo(-0.1, 10);
  });

  it("reports the median change and CPU µs per request over the rounds", () => {
    const rounds = [0.95, 0.9, 0.92, 0.85, 0.93].map((f) => ({
      a: [m(1000, 100), m(1000, 100)],
      b: [m(1000 * f, 110), m(1000 * f, 110)],
    }));
    const c = compareRounds(rounds, 0.9);
    expect(c.throughput.median).toBeCloseTo(-0.08, 10);
    expect([c.throughput.lo, c.throughput.hi].map((v) => Math.round(v * 100))).toEqual([-15, -5]);
    expect(c.cpuUs.n).toBe(5);
    expect(c.perRound[1]?.cpuUs).toBeCloseTo(110_000 / 900 - 100, 6);
  });
});

describe("the verdict", () => {
  const interval = (lo: number, hi: number) => ({ median: (lo + hi) / 2, lo, hi, confidence: 0.9, n: 8 });
  const aa = interval(-0.03, 0.02);

  it("is met only when the whole interval is within the limit, not met only when it is all past it", () => {
    expect(verdict(interval(-0.09, -0.02), aa, 0.1)).toBe("met");
    expect(verdict(interval(-0.2, -0.11), aa, 0.1)).toBe("not met");
    expect(verdict(interval(-0.12, -0.05), aa, 0.1)).toBe("undecided");
  });

  it("decides nothing from an interval that covers less than asked (too few rounds)", () => {
    const three = { median: -0.03, lo: -0.05, hi: -0.01, confidence: 0.75, n: 3 };
    expect(verdict(three, aa, 0.1, 0.9)).toBe("undecided");
    expect(verdict(interval(-0.2, -0.11), { ...aa, confidence: 0.75 }, 0.1, 0.9)).toBe("undecided");
  });

  it("is void when two identical instances differ: the A/A interval excludes no change", () => {
    expect(verdict(interval(-0.09, -0.02), interval(-0.2, -0.05), 0.1)).toBe("void");
    expect(verdict(interval(-0.09, -0.02), interval(0.01, 0.04), 0.1)).toBe("void");
  });
});

describe("the simultaneous design", () => {
  it("pairs every setting with both reference instances and the references together, each instance equally often", () => {
    const steps = pairSchedule(["off", "off2"], ["on"], 2);
    expect(steps.map((s) => `${s.round}:${s.a}‖${s.b}`)).toEqual([
      "0:off‖on",
      "0:off2‖on",
      "0:off‖off2",
      "1:on‖off2",
      "1:off2‖off",
      "1:on‖off",
    ]);
    for (const k of ["off", "off2", "on"]) {
      expect(steps.filter((s) => s.a === k || s.b === k)).toHaveLength(4);
    }
    expect(pairSchedule(["off", "off2"], ["on", "logs"], 1)).toHaveLength(5);
  });

  it("splits the rounds among generations of fresh instances, as evenly as they go", () => {
    expect(generationRounds(24, 3)).toEqual([
      [0, 8],
      [8, 8],
      [16, 8],
    ]);
    expect(generationRounds(10, 3)).toEqual([
      [0, 4],
      [4, 3],
      [7, 3],
    ]);
    expect(generationRounds(2, 5)).toEqual([
      [0, 1],
      [1, 1],
    ]);
    expect(generationRounds(5, 0)).toEqual([[0, 5]]);
  });

  it("rotates the order a generation's instances are started in, so no setting always starts first or last", () => {
    const keys = ["off", "tracing", "off2"] as const;
    const orders = [0, 1, 2].map((g) => startOrder(keys, g).join(" "));
    expect(orders).toEqual(["off tracing off2", "tracing off2 off", "off2 off tracing"]);
    // Three generations, three settings: each setting takes each start position once.
    for (const k of keys) {
      expect(new Set([0, 1, 2].map((g) => startOrder(keys, g).indexOf(k)))).toEqual(new Set([0, 1, 2]));
    }
    // Five settings (--all-settings) over three generations: none is always first or always last.
    const five = ["off", "tracing", "sampled", "logs", "off2"];
    const starts = [0, 1, 2].map((g) => startOrder(five, g));
    for (const k of five) {
      expect(starts.every((o) => o[0] === k)).toBe(false);
      expect(starts.every((o) => o.at(-1) === k)).toBe(false);
      expect(starts.every((o) => o.length === 5 && new Set(o).size === 5)).toBe(true);
    }
    // Over as many generations as settings it cycles: every setting in every position once.
    for (const k of five) {
      expect(new Set([0, 1, 2, 3, 4].map((g) => startOrder(five, g).indexOf(k))).size).toBe(5);
    }
    expect(startOrder(five, 5)).toEqual(five);
  });

  it("cancels the host's speed within a window: each ratio is taken in one window", () => {
    // The core runs at a different speed in every window; B needs 1/0.9 of A's CPU per call throughout.
    const speeds = [1, 0.6, 1.3, 0.8, 1.1, 0.7];
    const windows = speeds.flatMap((speed, round) => [
      { round, a: "off", b: "on", ma: m(2000 * speed), mb: m(1800 * speed) },
      { round, a: "off2", b: "on", ma: m(2000 * speed * 1.02), mb: m(1800 * speed * 1.02) },
      { round, a: "off", b: "off2", ma: m(2000 * speed), mb: m(2000 * speed) },
    ]);
    const on = compareWindows(windows, "on", ["off", "off2"]);
    expect(on.throughput.n).toBe(6);
    for (const r of on.perRound) expect(r.change).toBeCloseTo(-0.1, 10);
    const aa = compareWindows(windows, "off2", ["off"]);
    for (const r of aa.perRound) expect(r.change).toBeCloseTo(0, 10);
  });

  it("takes the geometric mean of the ratios to both references, whichever side each was on", () => {
    const windows = [
      { round: 0, a: "off", b: "on", ma: m(1000, 100), mb: m(800, 96) },
      { round: 0, a: "on", b: "off2", ma: m(900, 99), mb: m(1000, 110) },
    ];
    const c = compareWindows(windows, "on", ["off", "off2"]);
    expect(c.perRound[0]?.change).toBeCloseTo(Math.sqrt(0.8 * 0.9) - 1, 10);
    // CPU per call: (120 − 100 + 110 − 110) / 2
    expect(c.perRound[0]?.cpuUs).toBeCloseTo(10, 10);
    expect(compareWindows(windows, "on", ["nobody"]).throughput.n).toBe(0);
  });
});
