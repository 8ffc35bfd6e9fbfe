import { describe, expect, it } from "vitest";
import {
  compareWindows,
  generationRounds,
  type Measurement,
  pairSchedule,
  startOrder,
  summarizeRounds,
  verdict,
  type Window,
} from "./paired.js";
import { median, medianInterval } from "./stats.js";
import { normal, seeded } from "./synthetic.js";

const m = (requests: number, cpuMs = requests / 10, seconds = 1): Measurement => ({
  requests,
  seconds,
  cpuMs,
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

describe("summarizing rounds by generation", () => {
  const r = (generation: number, change: number, cpuUs = 0) => ({ generation, round: 0, change, cpuUs });

  it("takes each generation's median, then the median of those with its interval over generations", () => {
    const perRound = [
      ...[-0.1, -0.3, -0.2].map((c) => r(0, c, 10)),
      ...[-0.05, -0.06].map((c) => r(1, c, 5)),
      ...[0.1, -0.4, -0.12].map((c) => r(2, c, 30)),
    ];
    const c = summarizeRounds(perRound, 0.7);
    expect(c.throughput.clusterMedians.map((v) => Math.round(v * 1000))).toEqual([-200, -55, -120]);
    expect(c.throughput.n).toBe(3);
    expect(c.throughput.median).toBeCloseTo(-0.12, 10);
    expect([c.throughput.lo, c.throughput.hi]).toEqual([-0.2, -0.055].map((v) => expect.closeTo(v, 10)));
    expect(c.throughput.confidence).toBeCloseTo(0.75, 10);
    expect(c.cpuUs.clusterMedians).toEqual([10, 5, 30]);
    // The same rounds as if independent: 8 values, the interval the old reading gave.
    expect(c.roundsAlone.throughput.n).toBe(8);
  });

  it("orders generations by number, whatever order the rounds come in", () => {
    const c = summarizeRounds([r(2, -0.3), r(0, -0.1), r(1, -0.2), r(0, -0.1)]);
    expect(c.throughput.clusterMedians).toEqual([-0.1, -0.2, -0.3]);
  });

  it("gives one generation's figure with no coverage, so a run of one generation decides nothing", () => {
    const c = summarizeRounds([-0.3, -0.31, -0.29, -0.3, -0.3, -0.3, -0.3, -0.3].map((v) => r(0, v)));
    expect(c.throughput.n).toBe(1);
    expect(c.throughput.median).toBeCloseTo(-0.3, 10);
    expect(c.throughput.confidence).toBe(0);
    // Eight rounds alone would have "decided" it.
    expect(c.roundsAlone.throughput.confidence).toBeGreaterThan(0.9);
    const aa = summarizeRounds([0, 0, 0].map((v) => r(0, v))).throughput;
    expect(verdict(c.throughput, aa, 0.1)).toBe("undecided");
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
      { generation: round >> 1, round, a: "off", b: "on", ma: m(2000 * speed), mb: m(1800 * speed) },
      {
        generation: round >> 1,
        round,
        a: "off2",
        b: "on",
        ma: m(2000 * speed * 1.02),
        mb: m(1800 * speed * 1.02),
      },
      { generation: round >> 1, round, a: "off", b: "off2", ma: m(2000 * speed), mb: m(2000 * speed) },
    ]);
    const on = compareWindows(windows, "on", ["off", "off2"]);
    expect(on.perRound).toHaveLength(6);
    expect(on.throughput.n).toBe(3);
    for (const r of on.perRound) expect(r.change).toBeCloseTo(-0.1, 10);
    const aa = compareWindows(windows, "off2", ["off"]);
    for (const r of aa.perRound) expect(r.change).toBeCloseTo(0, 10);
  });

  it("takes the geometric mean of the ratios to both references, whichever side each was on", () => {
    const windows = [
      { generation: 0, round: 0, a: "off", b: "on", ma: m(1000, 100), mb: m(800, 96) },
      { generation: 0, round: 0, a: "on", b: "off2", ma: m(900, 99), mb: m(1000, 110) },
    ];
    const c = compareWindows(windows, "on", ["off", "off2"]);
    expect(c.perRound[0]?.change).toBeCloseTo(Math.sqrt(0.8 * 0.9) - 1, 10);
    // CPU per call: (120 − 100 + 110 − 110) / 2
    expect(c.perRound[0]?.cpuUs).toBeCloseTo(10, 10);
    expect(compareWindows(windows, "on", ["nobody"]).throughput.n).toBe(0);
  });
});

describe("the figure's interval over generations, on synthetic runs", () => {
  /**
   * One synthetic run of the real schedule: 8 generations × 3 rounds of pairSchedule; in each
   * generation every instance draws its own speed (a fresh process's luck, sd 3 %), every window its
   * own core speed (common to both sides, sd 20 %) and each side a little noise (sd 2 %). Tracing ("on")
   * answers 0.9 times the calls of an equally lucky tracing-off instance.
   */
  function syntheticRun(random: () => number): Window<string>[] {
    const windows: Window<string>[] = [];
    const schedule = pairSchedule(["off", "off2"], ["on"], 24);
    for (const [g, [first, count]] of generationRounds(24, 8).entries()) {
      const luck = new Map(["off", "off2", "on"].map((k) => [k, Math.exp(0.03 * normal(random))]));
      const base = (k: string) => (k === "on" ? 0.9 : 1) * (luck.get(k) as number);
      for (const step of schedule.filter((s) => s.round >= first && s.round < first + count)) {
        const speed = 2000 * Math.exp(0.2 * normal(random));
        const rate = (k: string) => speed * base(k) * Math.exp(0.02 * normal(random));
        windows.push({ generation: g, ...step, ma: m(rate(step.a)), mb: m(rate(step.b)) });
      }
    }
    return windows;
  }

  it("covers tracing's true change and the A/A control's zero at its stated level; rounds alone do not", () => {
    const random = seeded(2026);
    const runs = 600;
    const covered = { on: 0, aa: 0, onRounds: 0, aaRounds: 0, voided: 0 };
    for (let run = 0; run < runs; run++) {
      const windows = syntheticRun(random);
      const on = compareWindows(windows, "on", ["off", "off2"]);
      const aa = compareWindows(windows, "off2", ["off"]);
      const inside = (i: { lo: number; hi: number }, v: number) => i.lo <= v && v <= i.hi;
      if (inside(on.throughput, -0.1)) covered.on++;
      if (inside(aa.throughput, 0)) covered.aa++;
      if (inside(on.roundsAlone.throughput, -0.1)) covered.onRounds++;
      if (inside(aa.roundsAlone.throughput, 0)) covered.aaRounds++;
      if (verdict(on.throughput, aa.throughput, 0.1) === "void") covered.voided++;
      expect(on.throughput.n).toBe(8);
    }
    // Stated: 93 % (the 2nd and 7th of 8 generation figures). 600 runs: about ±1 point of Monte Carlo error.
    expect(covered.on / runs).toBeGreaterThan(0.9);
    expect(covered.aa / runs).toBeGreaterThan(0.9);
    // The A/A rule voids a run by chance no more often than the interval misses.
    expect(covered.voided / runs).toBeLessThan(0.1);
    // The same windows read as 24 independent rounds (the figure before poolbench) claim 93.6 % and
    // miss far more often than that.
    expect(covered.onRounds / runs).toBeLessThan(0.85);
    expect(covered.aaRounds / runs).toBeLessThan(0.85);
  });
});
