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

export function compareRounds(rounds: readonly RoundPair[], confidence = 0.9): Comparison {
  const perRound = rounds.map((q) => ({
    change: rateOf(q.b) / rateOf(q.a) - 1,
    cpuUs: cpuPerRequestOf(q.b) - cpuPerRequestOf(q.a),
  }));
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
