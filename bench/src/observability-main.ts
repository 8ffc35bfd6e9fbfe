#!/usr/bin/env node
/**
 * `pnpm bench:observability`: only the tracing / access-log A/B/C of `pnpm bench` (see
 * observability.ts), with the same flags (--quick, --rounds, --duration, --warmup, --no-write), after
 * the cost of tracing alone per call (observability-spans.ts). `--spans-only`: just that; `--no-spans`:
 * without it.
 */
import { join } from "node:path";
import { loadBenchConfig } from "./config.js";
import { REPO_ROOT } from "./gatehouse.js";
import { obtainNats } from "./infra.js";
import { startMockProcess } from "./mock-process.js";
import { measureObservability, renderObservability, startOtlpSink } from "./observability.js";
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

try {
  const started = new Date();
  const argv = process.argv.slice(2);
  const parts: string[] = [];
  if (!argv.includes("--no-spans")) {
    const { url: endpoint } = await startOtlpSink(cleanup);
    const spans = await measureSpans({
      endpoint,
      rounds: config.rounds,
      calls: config.quick ? 20_000 : 60_000,
      log,
    });
    parts.push(renderSpans(spans));
  }
  if (!argv.includes("--spans-only")) {
    const { url: mockUrl } = await startMockProcess(cleanup);
    const natsUrl = await obtainNats(cleanup);
    const result = await measureObservability({ natsUrl, mockUrl, cleanup, log, ...config });
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
