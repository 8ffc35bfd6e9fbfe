import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { z } from "zod";
import { parseEnv } from "./config.js";

/**
 * How a Gatehouse process keeps its heap small under load (docs/benchmarks.md, "Memory").
 *
 * Most of a loaded process's memory is V8's slack, not live objects: about 35 MB is live in the
 * one-process shape, but by default V8 lets the old generation grow to several times that before a
 * full GC, and that limit also counts the young generation's capacity on top. Two settings bound it:
 *
 * - The young generation's size, which only a node flag given at start-up can set
 *   (`v8.setFlagsFromString` after start-up does not resize a heap): 2 × 4 MB, or 2 × 16 MB when
 *   tracing is configured, as spans live as long as their call (`nodeMemoryFlags`). The flags are
 *   written once, in this package's `bin/gatehouse-node`, through which every start path runs node
 *   (each package's `start` script, the root `pnpm start`, the launcher's `gatehouse` bin, the
 *   container image); a process started some other way must pass them itself, and `tuneHeap`
 *   reports when it did not.
 * - The old generation's growing factor, which V8 reads at every full GC and so can be set from
 *   inside the process: `tuneHeap` sets it, whatever started the process.
 */

/** The script that runs node with Gatehouse's start-up flags. */
export const GATEHOUSE_NODE: string = fileURLToPath(new URL("../bin/gatehouse-node", import.meta.url));

/** The young generation's semi-space sizes, MB, that `bin/gatehouse-node` chooses between. */
export interface SemiSpaceSizes {
  /** For a process that does not trace (`SEMI_SPACE_MB`). */
  untraced: number;
  /** When tracing is configured (`TRACED_SEMI_SPACE_MB`). */
  traced: number;
}

/** The sizes on `bin/gatehouse-node`'s `SEMI_SPACE_MB=` and `TRACED_SEMI_SPACE_MB=` lines. */
export function semiSpaceSizesOf(script: string): SemiSpaceSizes {
  const size = (name: string) => {
    const line = new RegExp(`^${name}=(\\d+)$`, "m").exec(script);
    if (!line?.[1]) throw new Error(`bin/gatehouse-node has no ${name} line`);
    return Number(line[1]);
  };
  return { untraced: size("SEMI_SPACE_MB"), traced: size("TRACED_SEMI_SPACE_MB") };
}

/** Read once: src/ and dist/ both sit beside bin/. */
const SEMI_SPACE_SIZES: SemiSpaceSizes = semiSpaceSizesOf(readFileSync(GATEHOUSE_NODE, "utf8"));

const semiSpaceSchema = z.object({
  /** Same range and spelling as `bin/gatehouse-node` accepts: 1–64, no sign, no leading zero. */
  GATEHOUSE_SEMI_SPACE_MB: z
    .string()
    .regex(/^([1-9]|[1-5][0-9]|6[0-4])$/, "must be a whole number from 1 to 64 (MB)")
    .optional(),
});

/**
 * The node flags `bin/gatehouse-node` starts a process with in `environment`: semi-spaces of
 * `TRACED_SEMI_SPACE_MB` when tracing is configured (OTEL_EXPORTER_OTLP_ENDPOINT not empty,
 * OTEL_TRACES_SAMPLER not `always_off`), `SEMI_SPACE_MB` otherwise, GATEHOUSE_SEMI_SPACE_MB over
 * both. A bad GATEHOUSE_SEMI_SPACE_MB throws ConfigError (the script refuses to start).
 */
export function nodeMemoryFlags(
  environment: Record<string, string | undefined>,
  sizes: SemiSpaceSizes = SEMI_SPACE_SIZES,
): string[] {
  const { GATEHOUSE_SEMI_SPACE_MB: override } = parseEnv(semiSpaceSchema, environment);
  const traced =
    !!environment.OTEL_EXPORTER_OTLP_ENDPOINT && environment.OTEL_TRACES_SAMPLER !== "always_off";
  const mb = override ?? String(traced ? sizes.traced : sizes.untraced);
  return [`--max-semi-space-size=${mb}`];
}

/** Node flags a Gatehouse process that does not trace starts with (young generation 2 × SEMI_SPACE_MB). */
export const NODE_MEMORY_FLAGS: readonly string[] = nodeMemoryFlags({});

/**
 * The old generation may grow this many percent over what the last full GC kept before the next
 * one starts (V8 adds at least 8 MB, plus the young generation's capacity). V8's own factor is
 * 1.1–4× depending on GC speed, which at this heap size meant 80–120 MB of dead objects between
 * full GCs. Lower values save little memory here and cost much more marking: at c=64, 20 % ran
 * ~100 full GCs a minute (≈170 µs of GC CPU per request), 50 % about half as many (≈100 µs) for the
 * same peak RSS, against ≈50 µs with V8's own factor (docs/benchmarks.md, "Memory").
 */
export const DEFAULT_HEAP_GROWING_PERCENT = 50;

const schema = z.object({
  /** 0 leaves V8's own heuristic in place. */
  GATEHOUSE_HEAP_GROWING_PERCENT: z.coerce
    .number()
    .int()
    .min(0)
    .max(400)
    .default(DEFAULT_HEAP_GROWING_PERCENT),
});

export interface HeapTuning {
  /** The growing percent set, or 0 when V8's heuristic was left alone. */
  heapGrowingPercent: number;
  /** Flags of NODE_MEMORY_FLAGS this process was started without (with no value at all). */
  missingFlags: string[];
}

/** The flag's name without its value: `--max-semi-space-size=4` → `--max-semi-space-size`. */
function flagName(flag: string): string {
  const eq = flag.indexOf("=");
  return (eq < 0 ? flag : flag.slice(0, eq)).replaceAll("_", "-");
}

/** Flags of `NODE_MEMORY_FLAGS` given, with any value, neither on the command line nor in NODE_OPTIONS. */
export function missingMemoryFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = new Set([...execArgv, ...(nodeOptions ?? "").split(/\s+/)].map(flagName));
  return NODE_MEMORY_FLAGS.filter((flag) => !given.has(flagName(flag)));
}

/**
 * Set the old generation's growing factor (GATEHOUSE_HEAP_GROWING_PERCENT, default 50; 0 keeps
 * V8's) and report which start-up flags are missing. Call once, first thing in a process's main; a
 * bad value throws ConfigError naming the variable.
 */
export function tuneHeap(
  environment: Record<string, string | undefined>,
  execArgv: readonly string[] = process.execArgv,
): HeapTuning {
  const { GATEHOUSE_HEAP_GROWING_PERCENT: percent } = parseEnv(schema, environment);
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
  return {
    heapGrowingPercent: percent,
    missingFlags: missingMemoryFlags(execArgv, environment.NODE_OPTIONS),
  };
}

/** One line for the log when start-up flags are missing, undefined when none are. */
export function missingFlagsMessage(tuning: HeapTuning): string | undefined {
  if (tuning.missingFlags.length === 0) return undefined;
  return (
    `node was started without ${tuning.missingFlags.join(" ")}: V8's default young generation ` +
    "(32 MB on Node 20 and 22, 128 MB on Node 24) adds to this process's memory under load"
  );
}
