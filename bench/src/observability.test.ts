import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chosenSettings, type ObservabilityResult, renderObservability } from "./observability.js";
import { type Measurement, summarizeRounds } from "./paired.js";
import { writeResults } from "./report.js";

const m = (requests: number, cpuMs: number): Measurement => ({ requests, seconds: 2, cpuMs });
/**
 * One generation per factor, each of `perGeneration` rounds that read that factor (B answering `factor`
 * times A's calls at the same CPU per call).
 */
const comparison = (factors: number[], perGeneration = 2) =>
  summarizeRounds(
    factors.flatMap((f, generation) =>
      Array.from({ length: perGeneration }, (_, i) => ({
        generation,
        round: generation * perGeneration + i,
        change: f - 1,
        cpuUs: 0,
      })),
    ),
  );

function result(tracing: number[], aa: number[], unsampled?: number[]): ObservabilityResult {
  const side = (key: "off" | "tracing" | "unsampled" | "off2", label: string, ms: Measurement[]) => ({
    key,
    label,
    measurements: ms,
    errors: 0,
    latencies: [10, 20, 30],
  });
  const comparisons = [
    { key: "tracing" as const, comparison: comparison(tracing) },
    ...(unsampled ? [{ key: "unsampled" as const, comparison: comparison(unsampled) }] : []),
    { key: "off2" as const, comparison: comparison(aa) },
  ];
  return {
    sides: [
      side("off", "off", [m(5000, 1500)]),
      side("tracing", "tracing on", [m(4700, 1600)]),
      ...(unsampled ? [side("unsampled", "nothing sampled", [m(4900, 1550)])] : []),
      side("off2", "off again", [m(5000, 1500)]),
    ],
    comparisons,
    bytesReceived: 2e6,
    exportRequests: 10,
    sinkCpuMs: 50,
    loadBefore: [1, 1, 1],
    loadAfter: [1, 1, 1],
    rounds: 2 * tracing.length,
    windowsPerRound: 3,
    generations: tracing.length,
    shares: { gap: [1, 2, 9], sum: [96, 98, 97] },
    durationS: 2,
    settleMs: 250,
    connections: 64,
    pinning: { measured: "1", helpers: "0", all: "0-1" },
    natsNote: "the system's",
    elapsedS: 100,
  };
}

describe("the observability block", () => {
  const started = new Date("2026-11-30T12:00:00Z");

  it("states the verdict from the interval over generations, each generation, and the A/A control", () => {
    const md = renderObservability(
      result(
        [0.95, 0.94, 0.96, 0.93, 0.95, 0.97, 0.94, 0.95],
        [1.01, 0.99, 1.0, 1.02, 0.98, 1.0, 1.01, 0.99],
      ),
      "pnpm bench:observability",
      started,
    );
    expect(md).toContain("≤ 10 % throughput at c=64:** **met**");
    expect(md).toContain(
      "Median -5.0 % (-6.0 … -4.0) over 8 generations (93 % interval over generations in brackets)",
    );
    expect(md).toContain("the A/A control (off again) read +0.0 % (-1.0 … +1.0)");
    // Two identical rounds a generation: taken as independent, the same data claim a narrower interval.
    expect(md).toContain("Taken as 16 independent rounds");
    expect(md).toContain("the intervals would be -6.0 … -5.0 and -1.0 … +1.0 (A/A)");
    expect(md).toContain(
      "| tracing on | 2350 | -5.0 % (-6.0 … -4.0) | -5.0 / -6.0 / -4.0 / -7.0 / -5.0 / -3.0 / -6.0 / -5.0 |",
    );
    expect(md).toContain("vs off: median change over generations (93 % interval)");
    expect(md).toContain("pinned to CPU 1");
  });

  it("states the method: generations × rounds, two instances sharing the core, what the interval covers", () => {
    const md = renderObservability(
      result([0.95, 0.94, 0.96, 0.93, 0.95, 0.97], [1.01, 0.99, 1.0, 1.02, 0.98, 1.0]),
      "x",
      started,
    );
    expect(md).toContain("(simultaneous A/B)");
    expect(md).toContain("measured two at a time");
    expect(md).toContain("6 generations × 2 rounds of 3 such windows");
    expect(md).toContain("A generation is a set of fresh instances");
    expect(md).toContain("its interval the order statistics over them");
    expect(md).toContain("it covers what differs between sets of fresh processes");
    expect(md).toContain("their event-loop threads get equal time");
    expect(md).toContain("differed by 2 points of the core (median; largest 9), and together they had 97 %");
    expect(md).toContain("**met**");
  });

  it("says how uneven splits of rounds among generations went", () => {
    const r = result([0.95, 0.94, 0.96, 0.93, 0.95, 0.97], [1.01, 0.99, 1.0, 1.02, 0.98, 1.0]);
    expect(renderObservability({ ...r, rounds: 16 }, "x", started)).toContain(
      "16 rounds over 6 generations (2–3 each) of 3 such windows",
    );
  });

  it("says in what order each generation's instances were started: rotated, or off again last with one", () => {
    const r = result([0.95, 0.94, 0.96, 0.93, 0.95, 0.97], [1.01, 0.99, 1.0, 1.02, 0.98, 1.0]);
    expect(renderObservability(r, "x", started)).toContain(
      "the order a generation's instances are started in is rotated by one each generation",
    );
    expect(renderObservability(r, "x", started)).not.toContain("started last");
    const one = renderObservability(result([0.9], [1.0]), "x", started);
    expect(one).toContain("started in the order of the table (off again last)");
  });

  it("writes one round and one generation, not one rounds; decides nothing from one generation", () => {
    const md = renderObservability({ ...result([0.9], [1.0]), rounds: 1 }, "pnpm bench --quick", started);
    expect(md).toContain("1 generation × 1 round of 3 such windows");
    expect(md).toContain("over 1 generation (");
    expect(md).not.toMatch(/\b1 (rounds|generations)\b/);
    expect(md).toContain("**undecided**");
  });

  it("labels the nothing-sampled setting a diagnostic, not a goal", () => {
    const ok = [0.95, 0.94, 0.96, 0.93, 0.95, 0.97];
    const md = renderObservability(result(ok, [1, 1, 1, 1, 1, 1], ok), "x", started);
    expect(md).toMatch(/\| nothing sampled \(diagnostic, not a goal\) \| \d+ \| -5\.0 %/);
    expect(md).toContain("Diagnostic, held to no goal: nothing sampled");
    expect(renderObservability(result(ok, [1, 1, 1, 1, 1, 1]), "x", started)).not.toContain("diagnostic");
  });

  it("says there is no verdict when the run did not measure tracing (--settings without it)", () => {
    // Written over the block that held the last verdict, an empty goal line would read as if the goal
    // had never been stated.
    const ok = [0.95, 0.94, 0.96, 0.93, 0.95, 0.97];
    const r = result(ok, [1, 1, 1, 1, 1, 1], ok);
    const md = renderObservability(
      {
        ...r,
        sides: r.sides.filter((s) => s.key !== "tracing"),
        comparisons: r.comparisons.filter((c) => c.key !== "tracing"),
      },
      "pnpm bench:observability --settings=unsampled",
      started,
    );
    expect(md).toContain(
      "**No verdict on tracing's goal (≤ 10 % throughput at c=64):** this run did not measure",
    );
    expect(md).toContain("the A/A control (off again) read +0.0 %");
    expect(md).not.toContain("**met**");
  });

  it("decides nothing from too few generations, however many rounds each had", () => {
    const md = renderObservability(result([0.7, 0.7, 0.7, 0.7], [1, 1, 1, 1]), "x", started);
    expect(md).toContain("**undecided**");
    expect(md).toContain("(88 % interval over generations in brackets)");
    expect(md).toContain("fewer than 5 generations");
  });

  it("calls a run void when the A/A control's interval excludes no change", () => {
    const md = renderObservability(
      result([0.95, 0.94, 0.96, 0.95, 0.95, 0.94], [0.8, 0.85, 0.9, 0.82, 0.84, 0.86]),
      "x",
      started,
    );
    expect(md).toContain("**void**");
  });

  it("replaces only its own block in docs/benchmarks.md", () => {
    const file = join(mkdtempSync(join(tmpdir(), "obs-block-")), "benchmarks.md");
    writeFileSync(file, "# Benchmarks\n\nbefore\n\nafter the block: how runs were read\n");
    writeResults(file, "bench-observability", "the previous block");
    const md = renderObservability(
      result([0.8, 0.8, 0.8, 0.8, 0.8, 0.8], [1, 1, 1, 1, 1, 1]),
      "pnpm bench:observability",
      started,
    );
    writeResults(file, "bench-observability", md);
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain("the previous block");
    expect(text).toContain("**not met**");
    expect(text.indexOf("before")).toBeLessThan(text.indexOf("<!-- bench-observability:start"));
    expect(text.match(/bench-observability:end/g)).toHaveLength(1);
  });
});

describe("choosing the settings", () => {
  const argv = (...args: string[]) => ["node", "observability-main.js", ...args];

  it("runs tracing by default, tracing, sampled, tracing at 4 MB and logs with --all-settings", () => {
    expect(chosenSettings(argv("--no-spans"))).toEqual(["tracing"]);
    expect(chosenSettings(argv("--all-settings"))).toEqual(["tracing", "sampled", "tracing-4mb", "logs"]);
  });

  it("takes a comma list, the diagnostic nothing-sampled setting included", () => {
    expect(chosenSettings(argv("--settings=tracing,unsampled"))).toEqual(["tracing", "unsampled"]);
    expect(chosenSettings(argv("--settings=unsampled"))).toEqual(["unsampled"]);
    expect(() => chosenSettings(argv("--settings=off"))).toThrow("--settings must be a comma list of");
    expect(() => chosenSettings(argv("--settings=tracing", "--all-settings"))).toThrow(
      "--settings or --all-settings, not both",
    );
  });
});
