/**
 * Paired A/B on a noisy machine. Every instance is measured twice a round in mirrored order
 * (A B C D E E D C B A: each instance's two measurements have the same mean position, so drift that
 * is linear over the round hits all alike), with short measurements so that a round is short enough
 * for drift to be nearly linear over it, and the order rotated by one each round so that no instance
 * always waits longest between its two. Each round yields, for each setting, one ratio against the
 * reference (its throughput over the reference's, each pooled over its two measurements); the figure
 * is the median of those ratios with a distribution-free interval (stats.ts), never one pooled number
 * that a single slow stretch of the machine can move.
 *
 * Every instance runs equally often on purpose. A first design put each setting in quartets
 * (A B B A) against one reference, which the reference then ran in four times as often as any
 * other instance: an A/A control read −17 % and −19 % in two runs (CPU per call +26 µs), the idle
 * instance being the slower one.
 */
import { type MedianInterval, medianInterval } from "./stats.js";

/** What one measurement of one instance counted. */
export interface Measurement {
  requests: number;
  seconds: number;
  /** CPU the instance's processes used meanwhile (user + system, ms). */
  cpuMs: number;
}

export interface Step<K extends string> {
  key: K;
  /** 0-based; both of an instance's measurements in a round share it. */
  round: number;
}

/** `rounds` rounds of every key twice, mirrored, the order rotated by one each round. */
export function mirroredSchedule<K extends string>(keys: readonly K[], rounds: number): Step<K>[] {
  const steps: Step<K>[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = keys.map((_k, i) => keys[(i + round) % keys.length] as K);
    for (const key of [...order, ...[...order].reverse()]) steps.push({ key, round });
  }
  return steps;
}

/** One round of one comparison: the reference's (a) and the setting's (b) measurements in it. */
export interface RoundPair {
  a: Measurement[];
  b: Measurement[];
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

export interface Comparison {
  /** B's throughput as a change from A's (−0.08: 8 % fewer calls per second), over the rounds. */
  throughput: MedianInterval;
  /** B's CPU per call minus A's (µs), over the rounds. */
  cpuUs: MedianInterval;
  perRound: { change: number; cpuUs: number }[];
}

/** The median change and CPU difference over the rounds, each with its interval. */
function summarizeRounds(perRound: { change: number; cpuUs: number }[], confidence: number): Comparison {
  return {
    throughput: medianInterval(
      perRound.map((p) => p.change),
      confidence,
    ),
    cpuUs: medianInterval(
      perRound.map((p) => p.cpuUs),
      confidence,
    ),
    perRound,
  };
}

export function compareRounds(rounds: readonly RoundPair[], confidence = 0.9): Comparison {
  const perRound = rounds.map((q) => ({
    change: rateOf(q.b) / rateOf(q.a) - 1,
    cpuUs: cpuPerRequestOf(q.b) - cpuPerRequestOf(q.a),
  }));
  return summarizeRounds(perRound, confidence);
}

export type Verdict = "met" | "not met" | "undecided" | "void";

/**
 * Whether B costs at most `limit` of A's throughput (0.10: ≤ 10 %), read off the intervals: met
 * when even the interval's worst end is within the limit, not met when even its best end is past
 * it, undecided otherwise. Void when the A/A control (two identical instances compared the same
 * way) differs: its interval excludes no change, so instance differences, not the setting, may
 * explain B's figure. Undecided, whatever the intervals say, when either covers less than
 * `minConfidence` (too few rounds: 3 rounds give the whole range, at 75 %).
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
 * window), and the mean of its CPU per call minus theirs; the median over rounds with its
 * distribution-free interval, as compareRounds. Rounds without such a window are left out.
 */
export function compareWindows<K extends string>(
  windows: readonly Window<K>[],
  key: K,
  references: readonly K[],
  confidence = 0.9,
): Comparison {
  const rounds = [...new Set(windows.map((w) => w.round))].sort((x, y) => x - y);
  const perRound = rounds.flatMap((round) => {
    const pairs = windows
      .filter((w) => w.round === round)
      .flatMap((w) =>
        references.flatMap((r) => {
          const sides = sidesOf(w, key, r);
          return sides ? [sides] : [];
        }),
      );
    if (pairs.length === 0) return [];
    const logSum = pairs.reduce((s, [mk, mr]) => s + Math.log(rateOf([mk]) / rateOf([mr])), 0);
    const cpuSum = pairs.reduce((s, [mk, mr]) => s + cpuPerRequestOf([mk]) - cpuPerRequestOf([mr]), 0);
    return [{ change: Math.exp(logSum / pairs.length) - 1, cpuUs: cpuSum / pairs.length }];
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
