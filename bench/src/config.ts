/** Benchmark knobs: flags win over environment variables, which win over the defaults. */
export interface BenchConfig {
  quick: boolean;
  /** Seconds per non-streaming measurement (each target, each concurrency, each round). */
  durationS: number;
  warmupS: number;
  rounds: number;
  /** Sequential streams per target per round, for each streaming figure. */
  streams: number;
  /** Concurrent streams in the many-streams figure (1,000; 200 under --quick). */
  manyStreams: number;
  /** Fresh keys for the cold-cache validation figures. */
  coldKeys: number;
  concurrency: number[];
  write: boolean;
  outFile: string;
  echo: boolean;
}

function flag(argv: string[], name: string): string | undefined {
  const hit = argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (!hit) return undefined;
  return hit.includes("=") ? hit.slice(hit.indexOf("=") + 1) : "true";
}

function num(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${value}`);
  return n;
}

export function loadBenchConfig(argv: string[], env: Record<string, string | undefined>): BenchConfig {
  const quick = flag(argv, "quick") !== undefined || env.BENCH_QUICK === "1";
  const pick = (name: string, envName: string, normal: number, fast: number) =>
    num(flag(argv, name) ?? env[envName], quick ? fast : normal, `--${name} / ${envName}`);
  return {
    quick,
    durationS: pick("duration", "BENCH_DURATION_S", 10, 3),
    warmupS: pick("warmup", "BENCH_WARMUP_S", 3, 1),
    rounds: Math.round(pick("rounds", "BENCH_ROUNDS", 3, 1)),
    streams: Math.round(pick("streams", "BENCH_STREAMS", 100, 30)),
    manyStreams: Math.round(pick("many-streams", "BENCH_MANY_STREAMS", 1_000, 200)),
    coldKeys: Math.round(pick("cold-keys", "BENCH_COLD_KEYS", 200, 50)),
    concurrency: [1, 64],
    write: flag(argv, "no-write") === undefined && env.BENCH_WRITE !== "0",
    outFile: flag(argv, "out") ?? env.BENCH_OUT ?? "docs/benchmarks.md",
    echo: flag(argv, "verbose") !== undefined,
  };
}
