import { describe, expect, it } from "vitest";
import { formatComparison, type Side } from "./ab.js";

describe("bench:ab report", () => {
  it("shows A, B and B − A per percentile, the counts and each round's p50", () => {
    const a: Side = { label: "base", values: [1, 2, 3, 4], totals: [], roundP50: [2, 2.5], failures: 0 };
    const b: Side = { label: "new", values: [0.5, 1, 1.5, 2], totals: [], roundP50: [1, 1.25], failures: 1 };
    const table = formatComparison(a, b, "latency");
    expect(table).toContain("| latency p50 | 2.000 | 1.000 | -1.000 |");
    expect(table).toContain("| n (failed) | 4 (0) | 4 (1) | |");
    expect(table).toContain("| p50 per round | 2.000 2.500 | 1.000 1.250 | |");
    expect(table).not.toContain("whole stream");
  });

  it("adds whole-stream rows when streams were measured", () => {
    const side = (label: string, total: number): Side => ({
      label,
      values: [1],
      totals: [total],
      roundP50: [1],
      failures: 0,
    });
    expect(formatComparison(side("a", 10), side("b", 9), "first chunk")).toContain(
      "| whole stream p50 | 10.000 | 9.000 | -1.000 |",
    );
  });

  it("adds throughput and its change when both sides counted calls", () => {
    const side = (label: string, requests: number): Side => ({
      label,
      values: [1],
      totals: [],
      roundP50: [1],
      failures: 0,
      requests,
      seconds: 10,
    });
    expect(formatComparison(side("chat", 1000), side("responses", 950), "latency (c=64)")).toContain(
      "| throughput (req/s) | 100 | 95 | -5.0 % |",
    );
  });
});
