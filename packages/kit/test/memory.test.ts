import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  DEFAULT_HEAP_GROWING_PERCENT,
  missingFlagsMessage,
  missingMemoryFlags,
  NODE_MEMORY_FLAGS,
  nodeMemoryFlags,
  tuneHeap,
} from "../src/index.js";

describe("missingMemoryFlags", () => {
  it("names every flag when node got none", () => {
    expect(missingMemoryFlags([], undefined)).toEqual([...NODE_MEMORY_FLAGS]);
  });

  it("accepts the flags from the command line or NODE_OPTIONS, with any value or spelling", () => {
    expect(missingMemoryFlags([...NODE_MEMORY_FLAGS], undefined)).toEqual([]);
    expect(missingMemoryFlags([], `--enable-source-maps ${NODE_MEMORY_FLAGS.join(" ")}`)).toEqual([]);
    expect(missingMemoryFlags(["--max_semi_space_size=16"], undefined)).toEqual([]);
  });
});

describe("nodeMemoryFlags", () => {
  const sizes = { untraced: 4, traced: 16 };
  const endpoint = "http://collector:4318";

  it("gives a process that does not trace the smaller young generation", () => {
    expect(NODE_MEMORY_FLAGS).toEqual(["--max-semi-space-size=4"]);
    expect(nodeMemoryFlags({}, sizes)).toEqual(["--max-semi-space-size=4"]);
    expect(nodeMemoryFlags({ OTEL_EXPORTER_OTLP_ENDPOINT: "" }, sizes)).toEqual(["--max-semi-space-size=4"]);
    expect(
      nodeMemoryFlags({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: "always_off" }, sizes),
    ).toEqual(["--max-semi-space-size=4"]);
  });

  it("gives a process with tracing configured the larger one, whatever else samples", () => {
    expect(nodeMemoryFlags({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }, sizes)).toEqual([
      "--max-semi-space-size=16",
    ]);
    expect(
      nodeMemoryFlags(
        { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: "parentbased_traceidratio" },
        sizes,
      ),
    ).toEqual(["--max-semi-space-size=16"]);
  });

  it("lets GATEHOUSE_SEMI_SPACE_MB override both, and rejects a value outside 1..64 by name", () => {
    expect(nodeMemoryFlags({ GATEHOUSE_SEMI_SPACE_MB: "8" }, sizes)).toEqual(["--max-semi-space-size=8"]);
    expect(
      nodeMemoryFlags({ GATEHOUSE_SEMI_SPACE_MB: "64", OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }, sizes),
    ).toEqual(["--max-semi-space-size=64"]);
    expect(nodeMemoryFlags({ GATEHOUSE_SEMI_SPACE_MB: "" }, sizes)).toEqual(["--max-semi-space-size=4"]);
    for (const bad of ["0", "65", "08", "-4", "4.5", "lots", " 8"]) {
      expect(() => nodeMemoryFlags({ GATEHOUSE_SEMI_SPACE_MB: bad }, sizes), bad).toThrow(
        /GATEHOUSE_SEMI_SPACE_MB/,
      );
    }
  });
});

describe("tuneHeap", () => {
  it("defaults the growing percent and reports missing flags", () => {
    const tuning = tuneHeap({}, []);
    expect(tuning.heapGrowingPercent).toBe(DEFAULT_HEAP_GROWING_PERCENT);
    expect(tuning.missingFlags).toEqual([...NODE_MEMORY_FLAGS]);
    expect(missingFlagsMessage(tuning)).toContain(NODE_MEMORY_FLAGS[0]);
    expect(missingFlagsMessage(tuneHeap({}, [...NODE_MEMORY_FLAGS]))).toBeUndefined();
  });

  it("leaves V8's heuristic alone at 0 and rejects a bad value by name", () => {
    expect(tuneHeap({ GATEHOUSE_HEAP_GROWING_PERCENT: "0" }, []).heapGrowingPercent).toBe(0);
    expect(() => tuneHeap({ GATEHOUSE_HEAP_GROWING_PERCENT: "lots" }, [])).toThrow(ConfigError);
    expect(() => tuneHeap({ GATEHOUSE_HEAP_GROWING_PERCENT: "-5" }, [])).toThrow(
      /GATEHOUSE_HEAP_GROWING_PERCENT/,
    );
  });

  // The growing percent is a V8 flag, not a Node API: this proves the running Node still honours it
  // when set after start-up, the way tuneHeap sets it.
  // Two child processes that churn the heap: seconds on a quiet machine, far more on a loaded one.
  it("bounds the old generation when set after start-up", { timeout: 180_000 }, () => {
    const script = `
      const v8 = require("node:v8");
      if (process.argv[1] === "tuned") v8.setFlagsFromString("--heap-growing-percent=${DEFAULT_HEAP_GROWING_PERCENT}");
      const live = [];
      for (let i = 0; i < 600000; i++) live.push({ i, s: "k" + i });
      const ring = new Array(20000);
      let peak = 0;
      for (let round = 0; round < 100; round++) {
        for (let i = 0; i < 20000; i++) ring[(i * 7919 + round) % 20000] = { s: "v".repeat(40) + i, a: new Array(16).fill(i) };
        peak = Math.max(peak, process.memoryUsage().heapTotal);
      }
      process.stdout.write(String(peak));`;
    const peakMb = (mode: string) =>
      Number(
        execFileSync(process.execPath, [...NODE_MEMORY_FLAGS, "-e", script, mode], { encoding: "utf8" }),
      ) /
      2 ** 20;
    const untuned = peakMb("untuned");
    const tuned = peakMb("tuned");
    expect(tuned).toBeLessThan(untuned * 0.7);
  });
});
