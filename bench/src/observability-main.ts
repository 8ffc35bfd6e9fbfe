#!/usr/bin/env node
/**
 * `pnpm bench:observability`: only the tracing / access-log A/B/C of `pnpm bench` (see
 * observability.ts), with the same flags (--quick, --rounds, --duration, --warmup, --no-write).
 */
import { join } from "node:path";
import { loadBenchConfig } from "./config.js";
import { REPO_ROOT } from "./gatehouse.js";
import { obtainNats } from "./infra.js";
import { startMockProcess } from "./mock-process.js";
import { measureObservability, renderObservability } from "./observability.js";
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
  const { url: mockUrl } = await startMockProcess(cleanup);
  const natsUrl = await obtainNats(cleanup);
  const result = await measureObservability({ natsUrl, mockUrl, cleanup, log, ...config });
  const md = renderObservability(
    result,
    `pnpm bench:observability ${process.argv.slice(2).join(" ")}`.trim(),
    started,
  );
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
