#!/usr/bin/env node
/**
 * `pnpm bench:profile`: run Gatehouse under `node --cpu-prof` at concurrency 64 against the mock
 * upstream (auth and access control on, as in `pnpm bench`), then print where its CPU time went:
 * the top functions by self time and the totals per package. The raw `.cpuprofile` files stay in
 * the output directory for Chrome DevTools or speedscope.
 *
 *   pnpm bench:profile [-- --shape=one|separate] [--duration=S] [--connections=N] [--out=DIR]
 *                      [--no-profile]   (the same load and latency figures, without the profiler)
 *                      [--node-arg=FLAG …] (extra Node/V8 flags for Gatehouse, e.g. --node-arg=--trace-gc)
 *                      [--env=NAME=VALUE …] (extra environment for Gatehouse, e.g. --env=USAGE_FLUSH_MS=50)
 *                      [--load=stream|stream200]  (sequential streams instead of autocannon — 20
 *                                        chunks 5 ms apart, or 200 at once: time to first chunk)
 *                      [--load=responses] (the same c=N load as POST /v1/responses, translated to chat)
 */
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { boundedInt, envOption, option, repeated } from "./cli.js";
import {
  gatehouseResponsesTarget,
  gatehouseTarget,
  provision,
  REPO_ROOT,
  startGatehouse,
  verifyAndWarm,
} from "./gatehouse.js";
import { obtainNats } from "./infra.js";
import { runAutocannon, runStreams } from "./load.js";
import { startMockProcess } from "./mock-process.js";
import { Cleanup, sleep } from "./proc.js";
import type { Target } from "./targets.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds on the monotonic clock `process.hrtime` also reads (CLOCK_MONOTONIC). */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Which package a script belongs to: `undici`, `@gatehouse/bus`, `node:internal`, … */
export function packageOf(url: string): string {
  if (url === "") return "(native / idle / gc)";
  if (url.startsWith("node:")) return url.startsWith("node:internal") ? "node:internal" : url;
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const parts = url.slice(nm + "/node_modules/".length).split("/");
    return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  const ws = /\/(packages|services)\/([^/]+)\//.exec(url);
  if (ws) return `gatehouse ${ws[1] === "packages" ? "@gatehouse/" : ""}${ws[2]}`;
  return url;
}

/**
 * Self time per function and per package, in ms, from a V8 `.cpuprofile`; with `window` (µs on the
 * monotonic clock), only the samples taken inside it — the measured load, not start-up or warm-up.
 */
export function summarizeProfile(
  profile: CpuProfile,
  window?: { fromUs: number; toUs: number },
): {
  totalMs: number;
  /** Time the process sat idle (waiting in its event loop) inside the window. */
  idleMs: number;
  functions: { name: string; ms: number }[];
  packages: { name: string; ms: number }[];
} {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (frame.functionName === "(idle)") {
      idle += us;
      continue;
    }
    total += us;
    const file = frame.url.replace(/^file:\/\//, "").replace(`${REPO_ROOT}/`, "");
    const key = `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
    const pkg = packageOf(frame.url);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) =>
    [...m].map(([name, us]) => ({ name, ms: us / 1000 })).sort((a, b) => b.ms - a.ms);
  return {
    totalMs: total / 1000,
    idleMs: idle / 1000,
    functions: sorted(functions),
    packages: sorted(packages),
  };
}

function latencyLine(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) =>
    (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(3);
  return `p50 ${at(0.5)} p90 ${at(0.9)} p99 ${at(0.99)} max ${at(1)}`;
}

function mockTarget(mockUrl: string): Target {
  return {
    key: "mock",
    label: "mock (direct)",
    url: `${mockUrl}/v1/chat/completions`,
    headers: { "content-type": "application/json", authorization: "Bearer sk-bench" },
    model: (kind) =>
      kind === "small" ? "bench-small" : kind === "stream200" ? "bench-c200-d0" : "bench-c20-d5",
    processes: [],
  };
}

/** Alternating rounds of sequential streams; returns how many streams went through Gatehouse. */
async function streamLoad(
  gatehouse: Target,
  mock: Target,
  durationS: number,
  kind: "ttfb" | "stream200",
): Promise<number> {
  const first = { gatehouse: [] as number[], mock: [] as number[] };
  const deadline = Date.now() + durationS * 1000;
  let served = 0;
  await runStreams(gatehouse, kind, 20); // warm-up: JIT and connections
  await runStreams(mock, kind, 20);
  while (Date.now() < deadline) {
    for (const [name, target] of [
      ["gatehouse", gatehouse],
      ["mock", mock],
    ] as const) {
      const sample = await runStreams(target, kind, 20);
      if (sample.errors + sample.non2xx > 0) throw new Error(`${name}: ${sample.firstError}`);
      first[name].push(...sample.ttfbMs);
      if (name === "gatehouse") served += sample.ttfbMs.length;
    }
  }
  log(`gatehouse first chunk ms ${latencyLine(first.gatehouse)}`);
  log(`mock direct first chunk ms ${latencyLine(first.mock)}`);
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? 0;
  log(`added to the first chunk, p50: ${(median(first.gatehouse) - median(first.mock)).toFixed(3)} ms`);
  return served;
}

async function main(): Promise<void> {
  const shape = option("shape", "one");
  if (shape !== "one" && shape !== "separate") throw new Error("--shape must be one or separate");
  const durationS = boundedInt("duration", 10, 1, 120);
  const connections = boundedInt("connections", 64, 1, 512);
  const profiling = !process.argv.includes("--no-profile");
  const out = resolve(option("out", join(REPO_ROOT, ".gatehouse", "profiles", `${Date.now()}`)));
  mkdirSync(out, { recursive: true });

  const cleanup = new Cleanup();
  process.once("SIGINT", () => void cleanup.run().then(() => process.exit(130)));
  let served = 0;
  const window = { fromUs: 0, toUs: 0 };
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  try {
    const { url: mockUrl } = await startMockProcess(cleanup);
    const natsUrl = await obtainNats(cleanup);
    log(`starting Gatehouse (${shape})${profiling ? " under --cpu-prof" : ""} …`);
    const gh = await startGatehouse({
      shape,
      natsUrl,
      cleanup,
      nodeArgs: [...(profiling ? ["--cpu-prof", `--cpu-prof-dir=${out}`] : []), ...repeated("node-arg")],
      env: envOption("env"),
    });
    const load = option("load", "json");
    // The bench mock has chat completions only: a Responses load is translated, as on most accounts.
    const provisioned = await provision(
      gh,
      mockUrl,
      load === "responses" ? { responses_api: "translated" } : undefined,
    );
    await verifyAndWarm(gh, provisioned);
    const target =
      load === "responses" ? gatehouseResponsesTarget(gh, provisioned) : gatehouseTarget(gh, provisioned);
    await runAutocannon(target, connections, 2); // warm-up: JIT, pools, caches
    if (load === "stream" || load === "stream200") {
      log(`load: sequential streams for ${durationS} s`);
      window.fromUs = nowUs();
      served = await streamLoad(
        target,
        mockTarget(mockUrl),
        durationS,
        load === "stream" ? "ttfb" : "stream200",
      );
      window.toUs = nowUs();
    } else {
      log(`load: c=${connections} for ${durationS} s`);
      window.fromUs = nowUs();
      const sample = await runAutocannon(target, connections, durationS);
      window.toUs = nowUs();
      served = sample.requests;
      log(
        `${sample.requests} requests (${Math.round(sample.requests / sample.durationS)} req/s), ` +
          `${sample.non2xx} non-2xx, ${sample.errors} errors; latency ms ${latencyLine(sample.latenciesMs)}`,
      );
      const direct = await runAutocannon(mockTarget(mockUrl), connections, durationS);
      log(
        `mock direct: ${Math.round(direct.requests / direct.durationS)} req/s; latency ms ${latencyLine(direct.latenciesMs)}`,
      );
    }
    for (const p of gh.processes) await p.child.stop();
    await sleep(200);
  } finally {
    await cleanup.run();
  }

  for (const file of readdirSync(out).filter((f) => f.endsWith(".cpuprofile"))) {
    const profile = JSON.parse(readFileSync(join(out, file), "utf8")) as CpuProfile;
    const summary = summarizeProfile(profile, window);
    if (summary.totalMs < 200) continue; // a process that did next to nothing
    const perReq = served > 0 ? ` (${Math.round((summary.totalMs * 1000) / served)} µs per request)` : "";
    console.log(
      `\n## ${file}: ${summary.totalMs.toFixed(0)} ms on CPU during the measured load${perReq}, ${summary.idleMs.toFixed(0)} ms idle\n`,
    );
    console.log("| package | self ms | % |\n|---|--:|--:|");
    for (const p of summary.packages.slice(0, 15)) {
      console.log(`| ${p.name} | ${p.ms.toFixed(0)} | ${((100 * p.ms) / summary.totalMs).toFixed(1)} |`);
    }
    console.log("\n| function | self ms | % |\n|---|--:|--:|");
    for (const f of summary.functions.slice(0, 30)) {
      console.log(`| ${f.name} | ${f.ms.toFixed(0)} | ${((100 * f.ms) / summary.totalMs).toFixed(1)} |`);
    }
  }
  console.log(`\nprofiles: ${out} (measured load: ${window.fromUs}–${window.toUs} µs, ${served} requests)`);
}

main().catch((err: unknown) => {
  log(`profile failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
