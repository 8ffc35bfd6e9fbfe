/**
 * Paired A/B on a noisy machine: two instances loaded at once on one core (the simultaneous design,
 * below), every setting against two tracing-off instances, many short rounds, the rounds split among
 * generations (sets of fresh instances). Each round yields, for each setting, one change against the
 * references; each generation, the median of its rounds; the figure is the median of the generations
 * with a distribution-free interval over them (stats.ts `clusterMedianInterval`), never one pooled
 * number that a single slow stretch of the machine can move.
 *
 * Why generations are the unit: rounds of one generation share the same processes (their heap and code
 * layout, where the kernel put their memory, their start position), so they are not independent samples
 * of "a fresh gateway process". An interval over rounds covered only the noise within a run, and four
 * runs of one build read −12.1, −8.7, −7.6 and −13.4 % with intervals 2–3 points wide (docs/benchmarks.md).
 *
 * Every instance runs equally often on purpose. A first design put each setting in quartets
 * (A B B A) against one reference, which the reference then ran in four times as often as any
 * other instance: an A/A control read −17 % and −19 % in two runs (CPU per call +26 µs), the idle
 * instance being the slower one.
 */
import {
  type ClusteredMedianInterval,
  clusterMedianInterval,
  type MedianInterval,
  medianInterval,
} from "./stats.js";

/** What one measurement of one instance counted. */
export interface Measurement {
  requests: number;
  seconds: number;
  /** CPU the instance's processes used meanwhile (user + system, ms). */
  cpuMs: number;
}

const pooled = (ms: readonly Measurement[]) =>
  ms.reduce(
    (sum, m) => ({
      requests: sum.requests + m.requests,
      seconds: sum.seconds + m.seconds,
      cpuMs: sum.cpuMs + m.cpuMs,
    }),
    { requests: 0, seconds: 0, cpuMs: 0 },
  );

/** Throughput (req/s) over the measurements together. */
export const rateOf = (ms: readonly Measurement[]) => {
  const p = pooled(ms);
  return p.requests / p.seconds;
};

/** CPU µs per answered call over the measurements together. */
export const cpuPerRequestOf = (ms: readonly Measurement[]) => {
  const p = pooled(ms);
  return (p.cpuMs * 1000) / p.requests;
};

/** Share of one core the instance used over the measurements (1 = one core busy all the time). */
export const busyOf = (ms: readonly Measurement[]) => {
  const p = pooled(ms);
  return p.cpuMs / 1000 / p.seconds;
};

/** One round's reading of one setting: its throughput change (−0.08: 8 % fewer calls per second) and CPU per call difference (µs). */
export interface RoundChange {
  /** 0-based; the set of fresh instances the round was measured on. */
  generation: number;
  round: number;
  change: number;
  cpuUs: number;
}

export interface Comparison {
  /** B's throughput as a change from A's: the median over generations, its interval over generations. */
  throughput: ClusteredMedianInterval;
  /** B's CPU per call minus A's (µs), the same way. */
  cpuUs: ClusteredMedianInterval;
  perRound: RoundChange[];
  /**
   * The rounds taken as independent, generations ignored (the figure before poolbench): an interval
   * over rounds, narrower because it leaves out what differs between sets of processes. Shown for
   * comparison, never judged.
   */
  roundsAlone: { throughput: MedianInterval; cpuUs: MedianInterval };
}

/** The rounds' changes, grouped by generation: each generation's median, and the median of those with its interval. */
export function summarizeRounds(perRound: readonly RoundChange[], confidence = 0.9): Comparison {
  const generations = [...new Set(perRound.map((p) => p.generation))].sort((x, y) => x - y);
  const clusters = (value: (p: RoundChange) => number) =>
    generations.map((g) => perRound.filter((p) => p.generation === g).map(value));
  return {
    throughput: clusterMedianInterval(
      clusters((p) => p.change),
      confidence,
    ),
    cpuUs: clusterMedianInterval(
      clusters((p) => p.cpuUs),
      confidence,
    ),
    perRound: [...perRound],
    roundsAlone: {
      throughput: medianInterval(
        perRound.map((p) => p.change),
        confidence,
      ),
      cpuUs: medianInterval(
        perRound.map((p) => p.cpuUs),
        confidence,
      ),
    },
  };
}

export type Verdict = "met" | "not met" | "undecided" | "void";

/**
 * Whether B costs at most `limit` of A's throughput (0.10: ≤ 10 %), read off the intervals: met
 * when even the interval's worst end is within the limit, not met when even its best end is past
 * it, undecided otherwise. Void when the A/A control (two identical instances compared the same
 * way) differs: its interval excludes no change. Over generations that interval already holds what
 * two fresh processes differ by, so an A/A that excludes 0 points at a bias every generation shared
 * (the schedule, start positions, something on the machine that favoured one side), which may be in
 * B's figure too. Undecided, whatever the intervals say, when either covers less than
 * `minConfidence` (too few generations: 4 give the whole range, at 87.5 %).
 */
export function verdict(b: MedianInterval, aa: MedianInterval, limit: number, minConfidence = 0.9): Verdict {
  if (b.confidence < minConfidence || aa.confidence < minConfidence) return "undecided";
  if (!(aa.lo <= 0 && aa.hi >= 0)) return "void";
  if (b.lo >= -limit) return "met";
  if (b.hi < -limit) return "not met";
  return "undecided";
}

/**
 * The simultaneous design: two instances loaded at the same time (each at its own concurrency from
 * the same load generator), pinned to the same core, so the kernel splits that core between them.
 * Whatever the host does to the core's speed in that window (on a VM: other guests, cache and
 * memory-bandwidth contention) hits both at once and cancels in the ratio of their throughputs;
 * measured one after the other, the same process's CPU per call swung ±30 % between measurements.
 */
export interface Window<K extends string> {
  /** The set of fresh instances it was measured on (0-based). */
  generation: number;
  round: number;
  a: K;
  b: K;
  ma: Measurement;
  mb: Measurement;
}

/**
 * One round: every other setting paired with each of the two reference instances, then the two
 * references with each other (the A/A control). Every instance is measured equally often when there
 * is one other setting (each instance in two windows of three); the order of the windows is rotated
 * by one each round and the sides of each window swapped every other round.
 */
export function pairSchedule<K extends string>(
  references: readonly [K, K],
  others: readonly K[],
  rounds: number,
): { round: number; a: K; b: K }[] {
  const [r1, r2] = references;
  const pairs: [K, K][] = [...others.flatMap((o) => [[r1, o] as [K, K], [r2, o] as [K, K]]), [r1, r2]];
  const steps: { round: number; a: K; b: K }[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < pairs.length; i++) {
      const [a, b] = pairs[(i + round) % pairs.length] as [K, K];
      steps.push(round % 2 === 0 ? { round, a, b } : { round, a: b, b: a });
    }
  }
  return steps;
}

/** `key`'s measurement and the other side's, when `w` paired `key` with `other`. */
function sidesOf<K extends string>(w: Window<K>, key: K, other: K): [Measurement, Measurement] | undefined {
  if (w.a === key && w.b === other) return [w.ma, w.mb];
  if (w.b === key && w.a === other) return [w.mb, w.ma];
  return undefined;
}

/**
 * `key` against `references` in the simultaneous design: per round, the geometric mean of its
 * throughput ratio to each reference it was paired with in that round (each ratio taken in one
 * window), and the mean of its CPU per call minus theirs; then summarizeRounds (per generation, the
 * median of its rounds; the figure, the median over generations with its interval). Rounds without
 * such a window are left out.
 */
export function compareWindows<K extends string>(
  windows: readonly Window<K>[],
  key: K,
  references: readonly K[],
  confidence = 0.9,
): Comparison {
  const rounds = [...new Set(windows.map((w) => w.round))].sort((x, y) => x - y);
  const perRound = rounds.flatMap((round): RoundChange[] => {
    const inRound = windows.filter((w) => w.round === round);
    const pairs = inRound.flatMap((w) =>
      references.flatMap((r) => {
        const sides = sidesOf(w, key, r);
        return sides ? [sides] : [];
      }),
    );
    if (pairs.length === 0) return [];
    const logSum = pairs.reduce((s, [mk, mr]) => s + Math.log(rateOf([mk]) / rateOf([mr])), 0);
    const cpuSum = pairs.reduce((s, [mk, mr]) => s + cpuPerRequestOf([mk]) - cpuPerRequestOf([mr]), 0);
    return [
      {
        generation: inRound[0]?.generation ?? 0,
        round,
        change: Math.exp(logSum / pairs.length) - 1,
        cpuUs: cpuSum / pairs.length,
      },
    ];
  });
  return summarizeRounds(perRound, confidence);
}

/**
 * `rounds` split into `generations` consecutive runs of rounds, as even as they go (the first ones
 * one longer): [first round, count] of each.
 */
export function generationRounds(rounds: number, generations: number): [number, number][] {
  const g = Math.max(1, Math.min(generations, rounds));
  const out: [number, number][] = [];
  let first = 0;
  for (let i = 0; i < g; i++) {
    const count = Math.floor(rounds / g) + (i < rounds % g ? 1 : 0);
    out.push([first, count]);
    first += count;
  }
  return out;
}

/**
 * The order a generation's instances are started in: `keys` rotated by one each generation, so that
 * no setting is always started first or last (identical instances read differently by start position:
 * off again, always started last, read 0.4–4.4 % faster than off in four runs). Over as many
 * generations as keys, every key takes every start position once; with another count of generations
 * the positions are not evened out (3 keys over 2 generations: mean positions 0.5, 1 and 1.5).
 * Generation 0 starts them in the order given.
 */
export function startOrder<K extends string>(keys: readonly K[], generation: number): K[] {
  return keys.map((_k, i) => keys[(i + generation) % keys.length] as K);
}
