/** Percentile by nearest rank over a sorted copy; NaN for an empty sample. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] ?? Number.NaN;
}

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = Float64Array.from(values).sort();
  const arr = Array.from(sorted);
  let sum = 0;
  for (const v of arr) sum += v;
  return {
    n: arr.length,
    p50: percentile(arr, 50),
    p99: percentile(arr, 99),
    max: arr.length ? (arr[arr.length - 1] ?? Number.NaN) : Number.NaN,
    mean: arr.length ? sum / arr.length : Number.NaN,
  };
}

/** The median (mean of the two middle values for an even count); NaN for an empty sample. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** P(X ≤ k) for X ~ Binomial(n, 1/2). */
function binomialHalfCdf(n: number, k: number): number {
  let term = 0.5 ** n; // P(X = 0)
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    sum += term;
    term = (term * (n - i)) / (i + 1);
  }
  return sum;
}

export interface MedianInterval {
  median: number;
  lo: number;
  hi: number;
  /** The interval's actual coverage (order statistics give only some levels): at least the one asked for when n allows. */
  confidence: number;
  n: number;
}

/**
 * The median and a distribution-free confidence interval for it: the order statistics
 * [x(k), x(n+1−k)] with the largest k whose coverage 1 − 2·P(Binom(n, ½) < k) is still at least
 * `confidence`. It assumes only independent measurements of one distribution, none about its shape
 * (a throughput ratio on a shared machine has heavy tails). Too few values for the level: the whole
 * range, with the coverage it has (5 values: 93.75 %).
 */
export function medianInterval(values: readonly number[], confidence = 0.9): MedianInterval {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { median: Number.NaN, lo: Number.NaN, hi: Number.NaN, confidence: 0, n };
  let k = 1;
  while (k + 1 <= n + 1 - (k + 1) && 1 - 2 * binomialHalfCdf(n, k) >= confidence) k++;
  return {
    median: median(sorted),
    lo: sorted[k - 1] as number,
    hi: sorted[n - k] as number,
    confidence: 1 - 2 * binomialHalfCdf(n, k - 1),
    n,
  };
}

/** The median over clusters and its interval, with each cluster's own median (clusterMedianInterval). */
export interface ClusteredMedianInterval extends MedianInterval {
  /** Each non-empty cluster's median, in the order given. */
  clusterMedians: number[];
}

/**
 * The median and its distribution-free interval when the values come in clusters that share a cause
 * (rounds measured on one set of processes): each cluster is reduced to its median, and the interval is
 * medianInterval's over those medians, n being the number of clusters, not of values. The values of one
 * cluster are not independent samples of what a fresh cluster would read (they share its bias), so an
 * interval over the values covers only the noise within clusters; one over the cluster medians assumes
 * only that clusters are independent of each other, and covers both. Empty clusters are left out; one
 * cluster gives its median with a zero-width interval of no coverage (confidence 0).
 */
export function clusterMedianInterval(
  clusters: readonly (readonly number[])[],
  confidence = 0.9,
): ClusteredMedianInterval {
  const clusterMedians = clusters.filter((c) => c.length > 0).map((c) => median(c));
  return { ...medianInterval(clusterMedians, confidence), clusterMedians };
}
