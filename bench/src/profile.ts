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
 *                      [--node-arg-b=FLAG …] (A/B of two instances, as with --env-b: B's own flags after those, e.g.
 *                                        --node-arg-b=--max-semi-space-size=16; the last value wins)
 *                      [--env=NAME=VALUE …] (extra environment for Gatehouse, e.g. --env=USAGE_FLUSH_MS=50)
 *                      [--load=stream|stream200]  (sequential streams instead of autocannon — 20
 *                                        chunks 5 ms apart, or 200 at once: time to first chunk)
 *                      [--load=responses] (the same c=N load as POST /v1/responses, translated to chat)
 *                      [--load=route] (A/B in one process: the account directly against a one-target
 *                                        route over it, A B B A for --rounds=N (4) of --seconds=S (2)
 *                                        per measurement; prints the CPU µs per request of every
 *                                        function and package on both sides, largest difference first)
 *                      [--env-b=NAME=VALUE …] (A/B of two instances: B has these variables on top of --env,
 *                                        e.g. --env-b=OTEL_EXPORTER_OTLP_ENDPOINT=$OTLP_SINK; the load
 *                                        alternates A B B A for --rounds=N (4) of --seconds=S (4) and each
 *                                        process's profile is read over its own side's windows; prints
 *                                        the CPU µs per request (from /proc and per function) of both)
 *                      [--root-b=DIR] (B runs the build in DIR, another checkout of Gatehouse, built:
 *                                        e.g. the code before a change, with the same settings)
 *                      [--gc] (A/B: each side's bytes allocated and promoted and GC time per request too,
 *                                        from gc-probe.ts loaded into its processes; allocation does
 *                                        not depend on how loaded the machine is)
 *                      An `$OTLP_SINK` in any --env/--env-b value starts an OTLP/HTTP sink that takes and
 *                      discards spans, and stands for its URL.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { call } from "./admin.js";
import { boundedInt, envOption, option, repeated } from "./cli.js";
import {
  ACCOUNT,
  gatehouseResponsesTarget,
  gatehouseTarget,
  provision,
  REPO_ROOT,
  startGatehouse,
  verifyAndWarm,
} from "./gatehouse.js";
import { type GcTotals, gcProbeFile } from "./gc-probe.js";
import { obtainNats } from "./infra.js";
import { runAutocannon, runStreams } from "./load.js";
import { startMockProcess } from "./mock-process.js";
import { startOtlpSink } from "./observability.js";
import { Cleanup, sampleProc, sleep } from "./proc.js";
import { count } from "./report.js";
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
  window?: { fromUs: number; toUs: number } | readonly { fromUs: number; toUs: number }[],
): {
  totalMs: number;
  /** Time the process sat idle (waiting in its event loop) inside the window. */
  idleMs: number;
  functions: { name: string; ms: number }[];
  packages: { name: string; ms: number }[];
} {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const windows = window === undefined ? undefined : "fromUs" in window ? [window] : window;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (windows && !windows.some((w) => at >= w.fromUs && at <= w.toUs)) continue;
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

/** `--env` / `--env-b` values with `$OTLP_SINK` replaced by the URL of a sink started for them. */
async function resolveEnv(
  cleanup: Cleanup,
  ...envs: Record<string, string>[]
): Promise<Record<string, string>[]> {
  const needed = envs.some((e) => Object.values(e).some((v) => v.includes("$OTLP_SINK")));
  if (!needed) return envs;
  const sink = await startOtlpSink(cleanup);
  return envs.map((e) =>
    Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v.replaceAll("$OTLP_SINK", sink.url)])),
  );
}

/**
 * `--env-b`: two instances side by side, A (`--env`) and B (`--env` and `--env-b`), under the same
 * load in A B B A order; the CPU each process used over its own windows per request it answered,
 * and (profiled) the same per function and package, largest difference first.
 */
async function abMain(): Promise<void> {
  const shape = option("shape", "one");
  if (shape !== "one" && shape !== "separate") throw new Error("--shape must be one or separate");
  const connections = boundedInt("connections", 64, 1, 512);
  const rounds = boundedInt("rounds", 4, 1, 50);
  const seconds = boundedInt("seconds", 4, 1, 60);
  const profiling = !process.argv.includes("--no-profile");
  const out = resolve(option("out", join(REPO_ROOT, ".gatehouse", "profiles", `${Date.now()}`)));
  const rootB = repeated("root-b")[0];
  const gcProbe = process.argv.includes("--gc");
  const cleanup = new Cleanup();
  process.once("SIGINT", () => void cleanup.run().then(() => process.exit(130)));
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  type SideKey = "a" | "b";
  /** A side's measured windows, requests, CPU, bytes allocated (with --gc) and throughput per window. */
  const newSide = () => ({
    windows: [] as { fromUs: number; toUs: number }[],
    served: 0,
    cpuMs: 0,
    allocated: 0,
    promoted: 0,
    youngMs: 0,
    oldMs: 0,
    rates: [] as number[],
  });
  const sides = { a: newSide(), b: newSide() };
  /** The processes' GC totals so far, as their gc-probe last wrote them (every 20 ms). */
  const gcTotalsOf = (pids: number[]) =>
    pids.reduce(
      (sum, pid) => {
        try {
          const t = JSON.parse(readFileSync(gcProbeFile(pid), "utf8")) as GcTotals;
          return {
            allocated: sum.allocated + t.allocatedBytes,
            promoted: sum.promoted + t.promotedBytes,
            youngMs: sum.youngMs + t.youngMs,
            oldMs: sum.oldMs + t.oldMs,
          };
        } catch {
          return sum; // not written yet
        }
      },
      { allocated: 0, promoted: 0, youngMs: 0, oldMs: 0 },
    );
  try {
    const { url: mockUrl } = await startMockProcess(cleanup);
    const natsUrl = await obtainNats(cleanup);
    const [envA, envB] = (await resolveEnv(cleanup, envOption("env"), envOption("env-b"))) as [
      Record<string, string>,
      Record<string, string>,
    ];
    const targets = new Map<SideKey, { target: Target; pids: number[] }>();
    const stops: (() => Promise<void>)[] = [];
    for (const side of ["a", "b"] as const) {
      const dir = join(out, side);
      mkdirSync(dir, { recursive: true });
      log(`starting Gatehouse ${side.toUpperCase()} (${shape})${profiling ? " under --cpu-prof" : ""} …`);
      const gh = await startGatehouse({
        shape,
        natsUrl,
        cleanup,
        nodeArgs: [
          ...(profiling ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : []),
          ...(gcProbe ? [`--import=${resolve(REPO_ROOT, "bench/dist/gc-probe.js")}`] : []),
          ...repeated("node-arg"),
          ...(side === "b" ? repeated("node-arg-b") : []),
        ],
        env: {
          ...(gcProbe ? { GATEHOUSE_GC_PROBE: "1" } : {}),
          ...(side === "a" ? envA : { ...envA, ...envB }),
        },
        ...(side === "b" && rootB !== undefined ? { root: rootB } : {}),
      });
      const provisioned = await provision(gh, mockUrl);
      await verifyAndWarm(gh, provisioned);
      const target = gatehouseTarget(gh, provisioned);
      targets.set(side, {
        target,
        pids: gh.processes.map((p) => p.pid).filter((p): p is number => p !== undefined),
      });
      stops.push(async () => {
        for (const p of gh.processes) await p.child.stop();
      });
    }
    for (const side of ["a", "b"] as const)
      await runAutocannon(targets.get(side)?.target as Target, connections, 3);
    log(`load: c=${connections}, ${count(rounds, "round")} of ${seconds} s per side, A B B A`);
    for (let round = 0; round < rounds; round++) {
      const order: SideKey[] = round % 2 === 0 ? ["a", "b", "b", "a"] : ["b", "a", "a", "b"];
      for (const side of order) {
        const { target, pids } = targets.get(side) as { target: Target; pids: number[] };
        const cpu = () => pids.reduce((sum, pid) => sum + (sampleProc(pid)?.cpuMs ?? 0), 0);
        const cpuBefore = cpu();
        const gcBefore = gcProbe ? gcTotalsOf(pids) : undefined;
        const fromUs = nowUs();
        const sample = await runAutocannon(target, connections, seconds);
        sides[side].windows.push({ fromUs, toUs: nowUs() });
        sides[side].cpuMs += cpu() - cpuBefore;
        if (gcBefore) {
          const gcAfter = gcTotalsOf(pids);
          for (const k of ["allocated", "promoted", "youngMs", "oldMs"] as const)
            sides[side][k] += gcAfter[k] - gcBefore[k];
        }
        sides[side].served += sample.requests;
        sides[side].rates.push(sample.requests / sample.durationS);
        if (sample.errors + sample.non2xx > 0)
          throw new Error(`${side}: ${sample.errors + sample.non2xx} failed`);
      }
    }
    for (const side of ["a", "b"] as const) {
      const w = sides[side];
      const s = w.windows.reduce((sum, x) => sum + (x.toUs - x.fromUs), 0) / 1e6;
      log(
        `${side.toUpperCase()}: ${w.served} requests, ${Math.round(w.served / s)} req/s ` +
          `(${w.rates.map((r) => r.toFixed(0)).join(" / ")}), ` +
          `${((w.cpuMs * 1000) / w.served).toFixed(1)} CPU µs/request (/proc)` +
          (gcProbe
            ? `, ${(w.allocated / w.served / 1024).toFixed(2)} KB allocated/request, ` +
              `${(w.promoted / w.served / 1024).toFixed(2)} KB promoted/request, GC ` +
              `${((w.youngMs * 1000) / w.served).toFixed(1)} µs young + ${((w.oldMs * 1000) / w.served).toFixed(1)} µs old ` +
              "per request (gc-probe)"
            : ""),
      );
    }
    for (const stop of stops) await stop();
    await sleep(200);
  } finally {
    await cleanup.run();
  }
  if (!profiling) return;
  writeFileSync(join(out, "sides.json"), JSON.stringify(sides));
  const profiles = (side: SideKey) =>
    readdirSync(join(out, side))
      .filter((f) => f.endsWith(".cpuprofile"))
      .map((f) => ({ file: f, profile: JSON.parse(readFileSync(join(out, side, f), "utf8")) as CpuProfile }));
  // One busy process per side in the one-process shape; in the separate shape, files pair by order.
  const a = profiles("a");
  const b = profiles("b");
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const pa = a[i] as { file: string; profile: CpuProfile };
    const pb = b[i] as { file: string; profile: CpuProfile };
    printDiff(
      `${pa.file} (A) / ${pb.file} (B)`,
      summarizeProfile(pa.profile, sides.a.windows),
      sides.a.served,
      summarizeProfile(pb.profile, sides.b.windows),
      sides.b.served,
      ["A", "B"],
    );
  }
  console.log(`\nprofiles: ${out}`);
}

async function main(): Promise<void> {
  if (["env-b", "root-b", "node-arg-b"].some((o) => repeated(o).length > 0)) return abMain();
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
  // --load=route: the measured windows and requests of each side.
  const sides = {
    direct: { windows: [] as { fromUs: number; toUs: number }[], served: 0 },
    route: { windows: [] as { fromUs: number; toUs: number }[], served: 0 },
  };
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
    } else if (load === "route") {
      const route = "bench-one";
      for (const [path, body] of [
        ["/api/v1/routes", { name: route, kind: "chat", targets: [{ model: `${ACCOUNT}/bench-small` }] }],
        [
          `/api/v1/routes/${route}/grants`,
          { subject: { kind: "virtual_account", id: provisioned.virtualAccountId }, role: "user" },
        ],
      ] as const) {
        const r = await call(gh.admin, "POST", path, body);
        if (r.status >= 300) throw new Error(`POST ${path} → ${r.status} ${JSON.stringify(r.json)}`);
      }
      const routed: Target = { ...target, label: `route '${route}'`, model: () => route };
      await runAutocannon(routed, connections, 2);
      const rounds = boundedInt("rounds", 4, 1, 50);
      const seconds = boundedInt("seconds", 2, 1, 60);
      log(`load: c=${connections}, ${count(rounds, "round")} of ${seconds} s per side, A B B A`);
      for (let round = 0; round < rounds; round++) {
        const order =
          round % 2 === 0 ? ["direct", "route", "route", "direct"] : ["route", "direct", "direct", "route"];
        for (const side of order as ("direct" | "route")[]) {
          const fromUs = nowUs();
          const sample = await runAutocannon(side === "direct" ? target : routed, connections, seconds);
          sides[side].windows.push({ fromUs, toUs: nowUs() });
          sides[side].served += sample.requests;
          if (sample.errors + sample.non2xx > 0)
            throw new Error(`${side}: ${sample.errors + sample.non2xx} failed`);
        }
      }
      for (const side of ["direct", "route"] as const) {
        const w = sides[side];
        const s = w.windows.reduce((sum, x) => sum + (x.toUs - x.fromUs), 0) / 1e6;
        log(`${side}: ${w.served} requests, ${Math.round(w.served / s)} req/s`);
      }
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

  // For a closer look at one side (e.g. a function's callers): the windows each side was measured in.
  if (sides.direct.served > 0) writeFileSync(join(out, "sides.json"), JSON.stringify(sides));
  for (const file of readdirSync(out).filter((f) => f.endsWith(".cpuprofile"))) {
    const profile = JSON.parse(readFileSync(join(out, file), "utf8")) as CpuProfile;
    if (sides.direct.served > 0) {
      printRouteDiff(file, profile, sides);
      continue;
    }
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

/** µs per request of each function and package on both sides of a `--load=route` run, largest difference first. */
function printRouteDiff(
  file: string,
  profile: CpuProfile,
  sides: Record<"direct" | "route", { windows: { fromUs: number; toUs: number }[]; served: number }>,
): void {
  printDiff(
    file,
    summarizeProfile(profile, sides.direct.windows),
    sides.direct.served,
    summarizeProfile(profile, sides.route.windows),
    sides.route.served,
    ["A (account directly)", "B (one-target route)"],
  );
}

type Summary = ReturnType<typeof summarizeProfile>;

/** µs per request of each function and package on two sides, largest difference first. */
function printDiff(
  title: string,
  a: Summary,
  servedA: number,
  b: Summary,
  servedB: number,
  names: [string, string],
): void {
  const perReq = (ms: number, served: number) => (ms * 1000) / served;
  const ta = perReq(a.totalMs, servedA);
  const tb = perReq(b.totalMs, servedB);
  if (a.totalMs < 200) return;
  console.log(
    `\n## ${title}: CPU µs per request, ${names[0]} ${ta.toFixed(1)} → ${names[1]} ${tb.toFixed(1)} (${(tb - ta).toFixed(1)})\n`,
  );
  const diff = (key: "functions" | "packages", limit: number): { name: string; a: number; b: number }[] => {
    const rows = new Map<string, { name: string; a: number; b: number }>();
    for (const f of a[key]) rows.set(f.name, { name: f.name, a: perReq(f.ms, servedA), b: 0 });
    for (const f of b[key]) {
      const row = rows.get(f.name) ?? { name: f.name, a: 0, b: 0 };
      row.b = perReq(f.ms, servedB);
      rows.set(f.name, row);
    }
    return [...rows.values()].sort((x, y) => Math.abs(y.b - y.a) - Math.abs(x.b - x.a)).slice(0, limit);
  };
  for (const [key, limit] of [
    ["packages", 15],
    ["functions", 50],
  ] as const) {
    console.log(
      `| ${key === "packages" ? "package" : "function"} | A µs | B µs | B − A |\n|---|--:|--:|--:|`,
    );
    for (const r of diff(key, limit)) {
      console.log(`| ${r.name} | ${r.a.toFixed(2)} | ${r.b.toFixed(2)} | ${(r.b - r.a).toFixed(2)} |`);
    }
    console.log("");
  }
}

main().catch((err: unknown) => {
  log(`profile failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
