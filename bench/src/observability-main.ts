#!/usr/bin/env node
/**
 * `pnpm bench:observability`: only the tracing / access-log comparison of `pnpm bench` (see
 * observability.ts), with the same flags (--quick, --rounds, --duration, --warmup, --no-write), after
 * the cost of tracing alone per call (observability-spans.ts). `--spans-only`: just that; `--no-spans`:
 * without it. Here `--rounds` defaults to 24 (10 with `--design=sequential`) and `--duration` (seconds
 * per measurement) to 2: many short rounds, not a few long ones (paired.ts). `--all-settings`: one
 * call in ten sampled, tracing at the untraced young generation and the access log too (longer
 * rounds); `--settings=a,b` instead: which of tracing, sampled, unsampled (a diagnostic: the exporter
 * configured, nothing sampled), tracing-4mb (a diagnostic: GATEHOUSE_SEMI_SPACE_MB=4) and logs to
 * run besides off and off again (default tracing); `--design=sequential`: the earlier
 * design, one instance at a time; `--generations=N` (default 3): the rounds split among N sets of
 * fresh instances; `--nats=system`: the NATS on the default port instead of a
 * nats-server of the bench's own pinned with the helpers; `--spans-rounds=N` (default 2): rounds of
 * the spans table; `--no-pin`: no CPU pinning (pin.ts).
 */
import { join } from "node:path";
import { boundedInt, option } from "./cli.js";
import { loadBenchConfig } from "./config.js";
import { REPO_ROOT } from "./gatehouse.js";
import { obtainNats, startNats } from "./infra.js";
import { startMockProcess } from "./mock-process.js";
import {
  chosenSettings,
  type Design,
  measureObservability,
  renderObservability,
  startOtlpSink,
} from "./observability.js";
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
const design = option("design", "simultaneous") as Design;
if (design !== "simultaneous" && design !== "sequential") {
  throw new Error("--design must be simultaneous or sequential");
}
const natsChoice = option("nats", "own");
if (natsChoice !== "own" && natsChoice !== "system") throw new Error("--nats must be own or system");
const rounds = given("rounds", "BENCH_ROUNDS")
  ? config.rounds
  : config.quick
    ? 2
    : design === "simultaneous"
      ? 24
      : 10;
const settings = chosenSettings();
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
      design,
      settings,
      generations: boundedInt("generations", config.quick ? 1 : 3, 1, 24),
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
