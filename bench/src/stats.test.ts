import { describe, expect, it } from "vitest";
import { clusterMedianInterval, medianInterval } from "./stats.js";
import { normal, seeded } from "./synthetic.js";

describe("the median over clusters and its interval", () => {
  it("reduces each cluster to its median, in the order given, and skips empty ones", () => {
    const r = clusterMedianInterval([[3, 1, 2], [], [10, 20], [5]], 0.5);
    expect(r.clusterMedians).toEqual([2, 15, 5]);
    expect(r.n).toBe(3);
    expect(r.median).toBe(5);
    expect([r.lo, r.hi]).toEqual([2, 15]);
    expect(r.confidence).toBeCloseTo(0.75, 10);
  });

  it("takes the order statistics of the cluster medians, not of the values", () => {
    // Eight clusters: [2nd, 7th] of the sorted medians, 93 %, however many values each holds.
    const clusters = [8, 1, 7, 2, 6, 3, 5, 4].map((v) => [v - 0.5, v, v + 0.5, v + 100, v - 100]);
    const r = clusterMedianInterval(clusters, 0.9);
    expect([r.lo, r.median, r.hi]).toEqual([2, 4.5, 7]);
    expect(r.confidence).toBeCloseTo(0.9297, 4);
  });

  it("gives one cluster's median with a zero-width interval of no coverage", () => {
    const r = clusterMedianInterval([[1, 2, 3, 4, 5, 6, 7, 8, 9]], 0.9);
    expect([r.lo, r.median, r.hi, r.n]).toEqual([5, 5, 5, 1]);
    expect(r.confidence).toBe(0);
    expect(clusterMedianInterval([], 0.9).median).toBeNaN();
    expect(clusterMedianInterval([[], []], 0.9).n).toBe(0);
  });

  it("handles ties: equal cluster medians give a zero-width interval at the tied value", () => {
    const r = clusterMedianInterval(
      Array.from({ length: 8 }, () => [-0.1, -0.1, -0.2]),
      0.9,
    );
    expect([r.lo, r.median, r.hi]).toEqual([-0.1, -0.1, -0.1]);
    const s = clusterMedianInterval([[1], [1], [1], [2], [2], [2], [2], [3]], 0.9);
    expect([s.lo, s.median, s.hi]).toEqual([1, 2, 2]);
  });

  it("covers the true median as often as it says on clustered data, where an interval over the values does not", () => {
    // Each run: 8 clusters of 3 values, value = −10 + the cluster's own offset (sd 3) + noise (sd 1):
    // what a generation's processes share is larger than the rounds' noise, as in the runs of 20:05–20:49.
    const random = seeded(16);
    const runs = 2000;
    let clustered = 0;
    let flat = 0;
    let claimed = 0;
    for (let run = 0; run < runs; run++) {
      const clusters = Array.from({ length: 8 }, () => {
        const offset = 3 * normal(random);
        return Array.from({ length: 3 }, () => -10 + offset + normal(random));
      });
      const c = clusterMedianInterval(clusters, 0.9);
      const f = medianInterval(clusters.flat(), 0.9);
      if (c.lo <= -10 && -10 <= c.hi) clustered++;
      if (f.lo <= -10 && -10 <= f.hi) flat++;
      claimed = c.confidence;
    }
    expect(claimed).toBeCloseTo(0.9297, 4);
    // 2000 runs: the Monte Carlo error is about ±0.6 points; the seed makes the figure fixed.
    expect(clustered / runs).toBeGreaterThan(0.91);
    expect(clustered / runs).toBeLessThan(0.95);
    // The values taken as independent claim 93.6 % and cover far less.
    expect(flat / runs).toBeLessThan(0.75);
  });

  it("keeps its coverage with heavy tails and no cluster offsets (independent values)", () => {
    const random = seeded(7);
    const runs = 2000;
    let covered = 0;
    for (let run = 0; run < runs; run++) {
      // Cauchy-like noise: a normal over the absolute value of another.
      const clusters = Array.from({ length: 8 }, () =>
        Array.from({ length: 3 }, () => normal(random) / Math.max(1e-3, Math.abs(normal(random)))),
      );
      const c = clusterMedianInterval(clusters, 0.9);
      if (c.lo <= 0 && 0 <= c.hi) covered++;
    }
    expect(covered / runs).toBeGreaterThan(0.91);
  });
});
