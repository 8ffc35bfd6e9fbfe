#!/usr/bin/env node
/**
 * `pnpm bench:soak`: memory over a long run. Starts the mock upstream and one Gatehouse shape (auth
 * and access control on, as in `pnpm bench`) on Postgres or, with --db=pglite, on embedded PGlite
 * as `pnpm start` runs on a laptop; records each process's RSS idle after start, warms it up at
 * c=16, then holds c=64 for the given time while sampling every Gatehouse process's RSS from /proc
 * once a second. Prints, per process: RSS idle after start, after the warm-up, at the end, the peak
 * (VmHWM included), and the average of the first and the second half — growth shows as a second
 * half above the first. With --write, the rows replace
 * those of the same Node version and shape in the soak table of docs/benchmarks.md, so the table
 * can hold Node 20, 22 and 24 side by side (run this script with each `node` to fill it).
 *
 *   pnpm bench:soak [-- --shape=one|separate] [--db=postgres|pglite] [--duration=S] [--env=NAME=VALUE …]
 *                   [--node-arg=FLAG …] [--write]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { boundedInt, envOption, option, repeated } from "./cli.js";
import { gatehouseTarget, provision, REPO_ROOT, startGatehouse, verifyAndWarm } from "./gatehouse.js";
import { obtainNats } from "./infra.js";
import { runAutocannon } from "./load.js";
import { startMockProcess } from "./mock-process.js";
import { Cleanup, sampleProc } from "./proc.js";

const log = (line: string) => process.stderr.write(`${line}\n`);
const START = "<!-- soak:start -->";
const END = "<!-- soak:end -->";

export interface SoakRow {
  node: string;
  shape: string;
  process: string;
  /** RSS a few seconds after the process answered /readyz, before any call. */
  idleMb: number;
  afterWarmupMb: number;
  endMb: number;
  peakMb: number;
  firstHalfMb: number;
  secondHalfMb: number;
  reqPerS: number;
}

const mb = (kb: number) => Math.round(kb / 1024);
const average = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);

export function rowKey(r: Pick<SoakRow, "node" | "shape" | "process">): string {
  return `${r.node} | ${r.shape} | ${r.process}`;
}

export function formatRow(r: SoakRow): string {
  return `| ${rowKey(r)} | ${r.idleMb} | ${r.afterWarmupMb} | ${r.endMb} | ${r.peakMb} | ${r.firstHalfMb} → ${r.secondHalfMb} | ${r.reqPerS.toLocaleString("en-US")} |`;
}

/**
 * Replaces the rows of the same Node version and shape between the soak markers, keeping every
 * other row; the rows stay sorted by Node version, shape and process.
 */
export function mergeRows(doc: string, rows: SoakRow[], note: string): string {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`docs/benchmarks.md has no ${START} … ${END} section`);
  const replaced = new Set(rows.map((r) => `${r.node} | ${r.shape} |`));
  const kept = doc
    .slice(start + START.length, end)
    .split("\n")
    .filter((line) => /^\| v\d/.test(line))
    .filter((line) => ![...replaced].some((prefix) => line.startsWith(`| ${prefix}`)))
    .map(withIdleCell);
  const lines = [...kept, ...rows.map(formatRow)].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  const notes = doc
    .slice(start + START.length, end)
    .split("\n")
    .filter((line) => line.startsWith("- v"))
    .filter((line) => !rows.some((r) => line.startsWith(`- ${r.node}, ${r.shape}:`)));
  const shapeNote = `- ${rows[0]?.node}, ${rows[0]?.shape}: ${note}`;
  const body = [
    "",
    "| node | shape | process | RSS idle after start, MB | RSS after warm-up, MB | RSS at end, MB | peak, MB | average 1st → 2nd half, MB | req/s |",
    "|---|---|---|--:|--:|--:|--:|--:|--:|",
    ...lines,
    "",
    ...[...notes, shapeNote].sort((a, b) => a.localeCompare(b, "en", { numeric: true })),
    "",
  ].join("\n");
  return doc.slice(0, start + START.length) + body + doc.slice(end);
}

/** Rows written before the idle column existed get "–" there. */
function withIdleCell(line: string): string {
  const cells = line.split("|");
  // "| node | shape | process | 8 figures |" splits into 10 parts without the idle figure.
  if (cells.length !== 10) return line;
  cells.splice(4, 0, " – ");
  return cells.join("|");
}

/** How long a freshly started process is left alone before its idle RSS is read. */
const IDLE_SETTLE_MS = 5_000;

async function main(): Promise<void> {
  const shape = option("shape", "one");
  if (shape !== "one" && shape !== "separate") throw new Error("--shape must be one or separate");
  const database = option("db", "postgres");
  if (database !== "postgres" && database !== "pglite") throw new Error("--db must be postgres or pglite");
  const label = database === "pglite" ? `${shape}, PGlite` : shape;
  const durationS = boundedInt("duration", 120, 10, 1_800);
  const env = envOption("env");
  const nodeArgs = repeated("node-arg");
  const cleanup = new Cleanup();
  process.once("SIGINT", () => void cleanup.run().then(() => process.exit(130)));
  const rows: SoakRow[] = [];
  try {
    const { url: mockUrl } = await startMockProcess(cleanup);
    const natsUrl = await obtainNats(cleanup);
    log(`starting Gatehouse (${label}) on Node ${process.version} …`);
    const gh = await startGatehouse({ shape, natsUrl, cleanup, env, nodeArgs, database });
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
    const idle = new Map(gh.processes.map((p) => [p.pid, sampleProc(p.pid)?.rssKb ?? 0]));
    const provisioned = await provision(gh, mockUrl);
    await verifyAndWarm(gh, provisioned);
    const target = gatehouseTarget(gh, provisioned);
    log("warm-up: c=16 for 10 s");
    await runAutocannon(target, 16, 10);
    const series = new Map<number, number[]>(gh.processes.map((p) => [p.pid, []]));
    const peaks = new Map<number, number>();
    const sample = () => {
      for (const p of gh.processes) {
        const s = sampleProc(p.pid);
        if (!s) continue;
        series.get(p.pid)?.push(s.rssKb);
        peaks.set(p.pid, Math.max(peaks.get(p.pid) ?? 0, s.rssKb, s.hwmKb));
      }
    };
    sample();
    const timer = setInterval(sample, 1_000);
    log(`load: c=64 for ${durationS} s`);
    const load = await runAutocannon(target, 64, durationS);
    clearInterval(timer);
    sample();
    if (load.errors + load.non2xx > 0) throw new Error(`${load.errors + load.non2xx} requests failed`);
    for (const p of gh.processes) {
      const rss = series.get(p.pid) ?? [];
      const half = Math.floor(rss.length / 2);
      rows.push({
        node: process.version,
        shape: label,
        process: p.name,
        idleMb: mb(idle.get(p.pid) ?? 0),
        afterWarmupMb: mb(rss[0] ?? 0),
        endMb: mb(rss.at(-1) ?? 0),
        peakMb: mb(peaks.get(p.pid) ?? 0),
        firstHalfMb: mb(average(rss.slice(1, half))),
        secondHalfMb: mb(average(rss.slice(half))),
        reqPerS: Math.round(load.requests / load.durationS),
      });
    }
  } finally {
    await cleanup.run();
  }
  for (const r of rows) console.log(formatRow(r));
  if (process.argv.includes("--write")) {
    const file = join(REPO_ROOT, "docs", "benchmarks.md");
    const given = [...nodeArgs, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)];
    const settings = given.length ? `, with ${given.join(" ")}` : "";
    const flags = [
      `--shape=${shape}`,
      ...(database === "pglite" ? ["--db=pglite"] : []),
      `--duration=${durationS}`,
      ...nodeArgs.map((a) => `--node-arg=${a}`),
      ...Object.entries(env).map(([k, v]) => `--env=${k}=${v}`),
      "--write",
    ];
    const note =
      `${durationS} s at c=64, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ` +
      `${cpus().length} cores${settings} (\`pnpm bench:soak -- ${flags.join(" ")}\`)`;
    writeFileSync(file, mergeRows(readFileSync(file, "utf8"), rows, note));
    log(`rows written to ${file}`);
  }
}

if (process.argv[1]?.endsWith("soak.js")) {
  main().catch((err: unknown) => {
    log(`soak failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
}
