#!/usr/bin/env node
/**
 * `pnpm bench:observability`: only the tracing / access-log comparison of `pnpm bench` (see
 * observability.ts), with the same flags (--quick, --rounds, --duration, --warmup, --no-write), after
 * the cost of tracing alone per call (observability-spans.ts). `--spans-only`: just that; `--no-spans`:
 * without it. Here `--generations` (sets of fresh instances, the unit the figure's interval is over)
 * defaults to 8, `--rounds` (in all, split among them) to 24 with tracing alone and 16 with more
 * settings (each round has two more windows per setting), and `--duration` (seconds per measurement)
 * to 2: many short rounds, not a few long ones (paired.ts). `--all-settings`: one
 * call in ten sampled, tracing at the untraced young generation and the access log too (longer
 * rounds); `--settings=a,b` instead: which of tracing, sampled, unsampled (a diagnostic: the exporter
 * configured, nothing sampled), tracing-4mb (a diagnostic: GATEHOUSE_SEMI_SPACE_MB=4) and logs to
 * run besides off and off again (default tracing); `--nats=system`: the NATS on the default port instead of a
 * nats-server of the bench's own pinned with the helpers; `--spans-rounds=N` (default 2): rounds of
 * the spans table; `--no-pin`: no CPU pinning (pin.ts).
 */
import { join } from "node:path";
import { boundedInt, option } from "./cli.js";
import { loadBenchConfig } from "./config.js";
import { REPO_ROOT } from "./gatehouse.js";
import { obtainNats, startNats } from "./infra.js";
import { startMockProcess } from "./mock-process.js";
import { chosenSettings, measureObservability, renderObservability, startOtlpSink } from "./observability.js";
import { measureSpans, renderSpans } from "./observability-spans.js";
import { Cleanup } from "./proc.js";
import { writeResults } from "./report.js";

const config = loadBenchConfig(process.argv.slice(2), process.env);
const cleanup = new Cleanup();
const log = (line: string) => process.stderr.write(`${line}\n`);
const hardStop = setTimeout(() => {
  log("benchmark exceeded its time limit; cleaning up");
  void cleanup.run().then(() => process.exit(2));
}, 20 * 60_000);
hardStop.unref();
process.once("SIGINT", () => void cleanup.run().then(() => process.exit(130)));
process.once("SIGTERM", () => void cleanup.run().then(() => process.exit(143)));

/** A flag or its environment variable was given: the shared config's value; else this bench's own default. */
const given = (flag: string, envName: string) =>
  process.argv.some((a) => a.startsWith(`--${flag}=`)) || process.env[envName] !== undefined;
if (process.argv.some((a) => a.startsWith("--design"))) {
  // Silently running the other design would pass off its figure as the one asked for.
  throw new Error("--design was removed: only the simultaneous design remains (docs/benchmarks.md)");
}
const natsChoice = option("nats", "own");
if (natsChoice !== "own" && natsChoice !== "system") throw new Error("--nats must be own or system");
const settings = chosenSettings();
// 8 generations: the fewest whose interval over generations is not their whole range (the 2nd to the
// 7th, 93 % coverage), whatever it costs in rounds: 3 each with tracing alone (≈ 7 min at load 15),
// 2 each with more settings (each adds two windows a round), the starts of 8 sets costing the rest.
const rounds = given("rounds", "BENCH_ROUNDS")
  ? config.rounds
  : config.quick
    ? 2
    : settings.length > 1
      ? 16
      : 24;
const durationS = given("duration", "BENCH_DURATION_S") ? config.durationS : config.quick ? 1 : 2;

try {
  const started = new Date();
  const argv = process.argv.slice(2);
  const parts: string[] = [];
  if (!argv.includes("--no-spans")) {
    const { url: endpoint } = await startOtlpSink(cleanup);
    const spans = await measureSpans({
      endpoint,
      rounds: boundedInt("spans-rounds", config.quick ? 1 : 2, 1, 20),
      calls: config.quick ? 20_000 : 60_000,
      log,
    });
    parts.push(renderSpans(spans));
  }
  if (!argv.includes("--spans-only")) {
    const mock = await startMockProcess(cleanup);
    // The bench's own nats-server, pinned with the helpers, keeps the bus off the measured core.
    const own = natsChoice === "own" && !process.env.BENCH_NATS_URL ? await startNats(cleanup) : undefined;
    const natsUrl = own?.url ?? (await obtainNats(cleanup));
    const result = await measureObservability({
      ...config,
      rounds,
      durationS,
      settings,
      generations: boundedInt("generations", config.quick ? 1 : 8, 1, 48),
      natsUrl,
      natsNote: own ? "the bench's own nats-server, pinned with the helpers" : `${natsUrl}, not pinned`,
      natsPid: own?.pid,
      mockUrl: mock.url,
      mockPid: mock.child.pid,
      pin: !argv.includes("--no-pin"),
      cleanup,
      log,
    });
    parts.unshift(renderObservability(result, `pnpm bench:observability ${argv.join(" ")}`.trim(), started));
  }
  const md = parts.join("\n\n");
  process.stdout.write(`\n${md}\n`);
  if (config.write) {
    const file = join(REPO_ROOT, config.outFile);
    writeResults(file, "bench-observability", md);
    log(`wrote ${file}`);
  }
} catch (err) {
  log(`benchmark failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
} finally {
  await cleanup.run();
}
setTimeout(() => process.exit(process.exitCode ?? 0), 500).unref();
