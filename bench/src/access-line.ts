#!/usr/bin/env node
/**
 * The access line alone: the CPU one line costs, from its fields to the bytes on stdout, without
 * the rest of a request around it, so a few µs show.
 *
 *   node bench/dist/access-line.js [--base=DIR] [--rounds=N] [--rate=N] [--seconds=S]
 *
 * Each measurement is a child process that writes ingress's access line (the fields `accessLine` in
 * services/ingress/src/http/observe.ts gathers, the usage JSON parsed as it parses it, through kit's
 * `fixedLine`) `--rate` times a second (default 3,000, 64 a turn of the event loop, as c=64 brings
 * them), for `--seconds` (default 4), into a pipe this process drains. Its CPU (user + system, all
 * threads: the thread-pool writes too) per line, after a 3 s warm-up, is reported at `warn` (the line skipped: the pacing
 * loop alone) and at `info`; the difference is what the line costs. `--base=DIR` (another checkout,
 * built) runs as A against this checkout as B, in A B B A order per round.
 */
import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { boundedInt, option } from "./cli.js";
import { REPO_ROOT } from "./gatehouse.js";
import { count, table } from "./report.js";

type Level = "warn" | "info";
const WARMUP_S = 3;
interface KitLogger {
  isLevelEnabled(level: string): boolean;
}
interface Kit {
  createLogger(config: { level: string; service: string }): KitLogger;
  fixedLine(msg: string): (logger: KitLogger, level: Level, values: Record<string, unknown>) => void;
}

/** In the child: write lines at the pace asked, then report CPU µs per line on stderr. */
async function child(kitPath: string, level: Level, rate: number, seconds: number): Promise<void> {
  const kit = (await import(pathToFileURL(kitPath).href)) as Kit;
  const logger = kit.createLogger({ level, service: "ingress" });
  const write = kit.fixedLine("request");
  const usage = Buffer.from(
    JSON.stringify({
      promptTokens: 12,
      completionTokens: 9,
      totalTokens: 21,
      cachedTokens: 0,
      costUsd: 0.0000123,
    }),
  );
  const perTurn = 64;
  let n = 0;
  const run = async (turns: number) => {
    for (let t = 0; t < turns; t++) {
      for (let k = 0; k < perTurn; k++, n++) {
        // As finishRequest: nothing is gathered for a level that is off.
        if (!logger.isLevelEnabled("info")) continue;
        const parsed = JSON.parse(usage.toString("utf8")) as Record<string, number>;
        write(logger, "info", {
          reqId: `6d0c2b1e-8a4f-4f7e-9a1c-${String(n).padStart(12, "0")}`,
          traceId: null,
          method: "POST",
          path: "/v1/chat/completions",
          status: 200,
          durationMs: Math.round((n % 9973) * 12.345) / 1000,
          principalId: "0b9f1c2d-3e4f-5a6b-7c8d-9e0f1a2b3c4d",
          account: "openai-main",
          model: "gpt-4o-mini",
          route: null,
          inputTokens: parsed.promptTokens ?? null,
          outputTokens: parsed.completionTokens ?? null,
          cachedTokens: parsed.cachedTokens ?? null,
          costUsd: parsed.costUsd ?? null,
        });
      }
      await new Promise((r) => setTimeout(r, (1000 * perTurn) / rate));
    }
  };
  // Warm: the functions compiled and optimised (on V8's background threads, counted as this
  // process's CPU), as in a gateway that has been serving for a while.
  await run(Math.ceil((rate * WARMUP_S) / perTurn));
  const measured = n;
  const started = process.cpuUsage();
  await run(Math.ceil((rate * seconds) / perTurn));
  const cpu = process.cpuUsage(started);
  process.stderr.write(`${JSON.stringify({ usPerLine: (cpu.user + cpu.system) / (n - measured) })}\n`);
  // Exits through the normal path: what waits in the stdout buffer is written on the way out.
}

function measure(checkout: string, level: Level, rate: number, seconds: number): Promise<number> {
  const kitPath = resolve(checkout, "packages/kit/dist/index.js");
  const proc = spawn(
    process.execPath,
    [
      fileURLToPath(import.meta.url),
      "--child",
      `--kit=${kitPath}`,
      `--level=${level}`,
      `--rate=${rate}`,
      `--seconds=${seconds}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  proc.stdout.resume();
  let err = "";
  proc.stderr.setEncoding("utf8").on("data", (d: string) => {
    err += d;
  });
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => proc.kill("SIGKILL"), (seconds + 30) * 1000);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      const line = err.split("\n").find((l) => l.startsWith('{"usPerLine"'));
      if (code !== 0 || line === undefined)
        reject(new Error(`measurement failed (${code}): ${err.slice(-500)}`));
      else resolvePromise((JSON.parse(line) as { usPerLine: number }).usPerLine);
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

async function main(): Promise<void> {
  const rate = boundedInt("rate", 3_000, 100, 100_000);
  const seconds = boundedInt("seconds", 4, 1, 60);
  if (process.argv.includes("--child")) {
    return child(option("kit", ""), option("level", "info") === "warn" ? "warn" : "info", rate, seconds);
  }
  const base = option("base", "");
  const rounds = boundedInt("rounds", 3, 1, 50);
  const A = base ? resolve(process.cwd(), base) : REPO_ROOT;
  const sides = [
    { name: "A warn", checkout: A, level: "warn" as const },
    { name: "A info", checkout: A, level: "info" as const },
    { name: "B warn", checkout: REPO_ROOT, level: "warn" as const },
    { name: "B info", checkout: REPO_ROOT, level: "info" as const },
  ];
  const results = new Map<string, number[]>(sides.map((s) => [s.name, []]));
  const load = [loadavg()[0] ?? 0];
  for (let r = 1; r <= rounds; r++) {
    const order = r % 2 === 1 ? sides : [...sides].reverse();
    for (const side of order) {
      const us = await measure(side.checkout, side.level, rate, seconds);
      results.get(side.name)?.push(us);
      process.stderr.write(`round ${r}/${rounds}: ${side.name} ${us.toFixed(2)} µs/line\n`);
    }
  }
  load.push(loadavg()[0] ?? 0);
  const row = (name: string) => {
    const xs = results.get(name) ?? [];
    return [name, median(xs).toFixed(2), xs.map((x) => x.toFixed(2)).join(" / ")];
  };
  const line = (checkout: "A" | "B") =>
    median(results.get(`${checkout} info`) ?? []) - median(results.get(`${checkout} warn`) ?? []);
  console.log(
    `\nAccess line at ${rate} lines/s, ${seconds} s a measurement, ${count(rounds, "round")}; A: ${base || "this checkout"}, B: this checkout; load average ${load.map((x) => x.toFixed(1)).join(" → ")}\n`,
  );
  console.log(
    table(["side", "CPU µs per line (median)", "each measurement"], [...sides.map((s) => row(s.name))]),
  );
  console.log(
    `\nthe line (info − warn): A ${line("A").toFixed(2)} µs, B ${line("B").toFixed(2)} µs (${(((line("B") - line("A")) / line("A")) * 100).toFixed(0)} %)`,
  );
}

await main();
