#!/usr/bin/env node
import { readFileSync } from "node:fs";
/**
 * `pnpm bench:routes`: what a route costs. One Gatehouse (one process), the bench mock, and:
 *
 *  1. A/B in one run, A B B A each round: the account directly (`bench-openai/bench-small`) against
 *     a one-target route over it — p50 at c=1 and throughput at c=64 (autocannon), then CPU per
 *     request at c=64 and a fixed rate both sides hold.
 *  2. Time added when the route's first target refuses connections (a closed port) and when it
 *     hangs (accepts, never answers; the route's first-byte timeout is 250 ms), measured one call at
 *     a time against the one-target route, interleaved. Those routes' breakers are set to open only
 *     after 100 failures, so every measured call really tries the failing target first (with the
 *     default of 3, the breaker skips it after three calls and the fallback costs nothing more).
 *
 *   pnpm bench:routes -- [--rounds=N] (4) [--seconds=S] (3) [--calls=N] (60 refused, 12 hung)
 *                        [--node-arg=FLAG …] (extra Node/V8 flags for Gatehouse, e.g. --cpu-prof)
 *                        [--only=c1,c64,fixed,fallback] (some parts only: printed, docs left alone)
 *                        [--gc] (Gatehouse's garbage collector per request, see gc-probe.ts)
 *
 * Each side also reports the Gatehouse process's CPU time per request (user + system, from
 * /proc): on a shared machine a steadier measure of the route's own cost than throughput — most of
 * all in the third table, c=64 at a fixed rate (a third of A's c=64 throughput) that both sides hold.
 * The spread is reported too: each measurement's throughput and CPU per request, and each round's
 * B against that round's own A (A B B A: a drift within the round cancels), as a median with its
 * range — many short rounds (e.g. --rounds=12 --seconds=2) say more than a few long ones. The CPU
 * is also split by thread (the event loop's, "main", against V8's and libuv's helpers, which a
 * CPU profile does not see: parallel GC work among them), with the mock's and the load generator's.
 *
 * Writes its section of docs/benchmarks.md.
 */
import { createServer, type Server, type Socket } from "node:net";
import { hostname, loadavg } from "node:os";
import { resolve } from "node:path";
import { request } from "undici";
import { type AdminClient, call, createProviderAccount } from "./admin.js";
import { boundedInt, option, repeated } from "./cli.js";
import {
  ACCOUNT,
  chatOnce,
  gatehouseTarget,
  provision,
  REPO_ROOT,
  startGatehouse,
  verifyAndWarm,
} from "./gatehouse.js";
import { type GcTotals, gcProbeFile } from "./gc-probe.js";
import { obtainNats } from "./infra.js";
import { runAutocannon } from "./load.js";
import { startMockProcess } from "./mock-process.js";
import { Cleanup, freePort, sampleProc, sampleThreads } from "./proc.js";
import { count, ms, signed, table, writeResults } from "./report.js";
import { summarize } from "./stats.js";
import type { Target } from "./targets.js";

const log = (line: string) => process.stderr.write(`${line}\n`);
const MODEL = "bench-small";

async function admin(client: AdminClient, method: "POST" | "GET", path: string, body?: unknown) {
  const r = await call(client, method, path, body);
  if (r.status >= 300)
    throw new Error(`${method} ${path} → ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`);
  return r.json;
}

/** Accepts connections and never answers: an upstream that hangs before its first byte. */
async function hangingServer(cleanup: Cleanup): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  cleanup.add("hanging upstream", async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((done) => server.close(() => done()));
  });
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("no port");
  return address.port;
}

function routeTarget(base: Target, route: string): Target {
  return { ...base, label: `route '${route}'`, model: () => route };
}

async function timed(url: string, key: string, model: string): Promise<number> {
  const r = await chatOnce(url, key, model);
  if (r.status !== 200) throw new Error(`${model} → ${r.status} ${r.text.slice(0, 200)}`);
  return r.ms;
}

async function main(): Promise<void> {
  const rounds = boundedInt("rounds", 4, 1, 50);
  const seconds = boundedInt("seconds", 3, 1, 60);
  const calls = boundedInt("calls", 60, 4, 95);
  const parts = ["c1", "c64", "fixed", "fallback"];
  const only = option("only", parts.join(",")).split(",");
  const unknown = only.filter((p) => !parts.includes(p));
  if (unknown.length > 0) throw new Error(`--only: unknown part(s) ${unknown.join(", ")}`);
  const every = parts.every((p) => only.includes(p));
  const gcProbe = process.argv.includes("--gc");
  const cleanup = new Cleanup();
  process.once("SIGINT", () => void cleanup.run().then(() => process.exit(130)));
  try {
    const { url: mockUrl, child: mock } = await startMockProcess(cleanup);
    const natsUrl = await obtainNats(cleanup);
    const gh = await startGatehouse({
      shape: "one",
      natsUrl,
      cleanup,
      root: REPO_ROOT,
      env: gcProbe ? { GATEHOUSE_GC_PROBE: "1" } : {},
      nodeArgs: [
        ...(gcProbe ? [`--import=${resolve(REPO_ROOT, "bench/dist/gc-probe.js")}`] : []),
        ...repeated("node-arg"),
      ],
    });
    const provisioned = await provision(gh, mockUrl);
    await verifyAndWarm(gh, provisioned);
    const direct = gatehouseTarget(gh, provisioned);
    const target = `${ACCOUNT}/${MODEL}`;
    await createProviderAccount(gh.admin, "bench-refuses", `http://127.0.0.1:${await freePort()}/v1`, [
      MODEL,
    ]);
    await createProviderAccount(
      gh.admin,
      "bench-hangs",
      `http://127.0.0.1:${await hangingServer(cleanup)}/v1`,
      [MODEL],
    );
    const routes: Record<string, unknown[]> = {
      "bench-one": [{ model: target }],
      "bench-refuse-first": [{ model: `bench-refuses/${MODEL}` }, { model: target }],
      "bench-hang-first": [{ model: `bench-hangs/${MODEL}` }, { model: target }],
    };
    for (const [name, targets] of Object.entries(routes)) {
      // The one-target route keeps the default first-byte timeout: at c=64 on a loaded machine a
      // 250 ms bound failed calls that the direct side (no such bound) answered.
      const failingFirst = name !== "bench-one";
      await admin(gh.admin, "POST", "/api/v1/routes", {
        name,
        kind: "chat",
        targets,
        ...(failingFirst ? { first_byte_timeout_ms: 250, failure_threshold: 100 } : {}),
      });
      await admin(gh.admin, "POST", `/api/v1/routes/${name}/grants`, {
        subject: { kind: "virtual_account", id: provisioned.virtualAccountId },
        role: "user",
      });
    }
    const url = gh.ingressUrls[0] ?? "";
    const key = provisioned.vat.key;
    const check = await request(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "bench-refuse-first", messages: [{ role: "user", content: "x" }] }),
    });
    await check.body.text();
    if (check.headers["x-gatehouse-target"] !== target)
      throw new Error("the route did not fall back as expected");
    const route = routeTarget(direct, "bench-one");

    // 1. direct vs one-target route, c=1 latency and c=64 throughput, A B B A; then c=64 at a fixed
    // rate both sides hold (a third of A's c=64 throughput), where CPU per request compares like with
    // like: at full speed the slower side also batches fewer writes per syscall.
    const results: string[] = [];
    const cpuMs = () => gh.processes.reduce((sum, p) => sum + (sampleProc(p.pid)?.cpuMs ?? 0), 0);
    const threadCpu = () => {
      const all = new Map<string, number>();
      for (const p of gh.processes)
        for (const [name, ms] of sampleThreads(p.pid)) all.set(name, (all.get(name) ?? 0) + ms);
      all.set("(mock process)", sampleProc(mock.pid)?.cpuMs ?? 0);
      const own = process.cpuUsage();
      all.set("(load generator)", (own.user + own.system) / 1000);
      if (gcProbe) {
        for (const p of gh.processes) {
          try {
            const totals = JSON.parse(readFileSync(gcProbeFile(p.pid), "utf8")) as GcTotals;
            for (const [k, v] of Object.entries(totals)) all.set(`gc ${k}`, (all.get(`gc ${k}`) ?? 0) + v);
          } catch {
            // Not written yet.
          }
        }
      }
      return all;
    };
    const newSide = () => ({
      latencies: [] as number[],
      requests: 0,
      seconds: 0,
      errors: 0,
      cpuMs: 0,
      rounds: [] as number[],
      /** Per measurement: requests per second and Gatehouse CPU µs per request. */
      rps: [] as number[],
      cpuPerRequest: [] as number[],
      threads: new Map<string, number>(),
    });
    const measure = async (label: string, connections: number, rate?: number) => {
      for (const t of [direct, route]) await runAutocannon(t, connections, 2, "small", rate); // warm-up
      const pooled = [newSide(), newSide()];
      for (let round = 0; round < rounds; round++) {
        for (const i of round % 2 === 0 ? [0, 1, 1, 0] : [1, 0, 0, 1]) {
          const cpuBefore = cpuMs();
          const threadsBefore = threadCpu();
          const sample = await runAutocannon(i === 0 ? direct : route, connections, seconds, "small", rate);
          const cpu = cpuMs() - cpuBefore;
          const side = pooled[i] as (typeof pooled)[number];
          for (const [name, ms] of threadCpu())
            side.threads.set(name, (side.threads.get(name) ?? 0) + ms - (threadsBefore.get(name) ?? 0));
          side.cpuMs += cpu;
          side.latencies.push(...sample.latenciesMs);
          side.requests += sample.requests;
          side.seconds += sample.durationS;
          side.errors += sample.errors + sample.non2xx;
          side.rounds.push(summarize(sample.latenciesMs).p50);
          side.rps.push(sample.requests / sample.durationS);
          side.cpuPerRequest.push((cpu * 1000) / sample.requests);
        }
        log(`${label} round ${round + 1}/${rounds}`);
      }
      const [a, b] = pooled as [(typeof pooled)[0], (typeof pooled)[0]];
      const sa = summarize(a.latencies);
      const sb = summarize(b.latencies);
      const ra = a.requests / a.seconds;
      const rb = b.requests / b.seconds;
      const ca = (a.cpuMs * 1000) / a.requests;
      const cb = (b.cpuMs * 1000) / b.requests;
      const spread = (v: number[]) => {
        const s = summarize(v);
        return `${s.p50.toFixed(0)} (${Math.min(...v).toFixed(0)}–${s.max.toFixed(0)})`;
      };
      // Each round's B against its own A (two measurements each, A B B A): drift between rounds cancels.
      const perRound = (key: "rps" | "cpuPerRequest") => {
        const diffs: number[] = [];
        for (let r = 0; r + 1 < a[key].length; r += 2) {
          const ma = ((a[key][r] ?? 0) + (a[key][r + 1] ?? 0)) / 2;
          const mb = ((b[key][r] ?? 0) + (b[key][r + 1] ?? 0)) / 2;
          diffs.push(((mb - ma) / ma) * 100);
        }
        const s = summarize(diffs);
        const pct = (v: number) => `${v >= 0 ? "+" : ""}${v.toFixed(1)}`;
        return `${pct(s.p50)} % (${pct(Math.min(...diffs))} … ${pct(s.max)})`;
      };
      // Where each side's CPU went (threads of the Gatehouse process, the mock, the load generator),
      // and with --gc what its garbage collector did, per request.
      const GC_ROWS: Record<string, [string, number, number]> = {
        "gc allocatedBytes": ["bytes allocated per request", 1, 0],
        "gc promotedBytes": ["bytes promoted per request (young → old)", 1, 0],
        "gc youngMs": ["young-generation GC µs per request", 1000, 1],
        "gc oldMs": ["old-generation GC µs per request", 1000, 1],
      };
      const breakdown = [...new Set([...a.threads.keys(), ...b.threads.keys()])].flatMap((name) => {
        const [title, scale, digits] = GC_ROWS[name] ?? [`CPU µs per request: ${name}`, 1000, 1];
        if (name.startsWith("gc ") && GC_ROWS[name] === undefined) return [];
        const ta = ((a.threads.get(name) ?? 0) * scale) / a.requests;
        const tb = ((b.threads.get(name) ?? 0) * scale) / b.requests;
        if (scale === 1000 && ta + tb < 1) return [];
        const fmt = (v: number) => v.toFixed(digits);
        return [[title, fmt(ta), fmt(tb), `${tb - ta >= 0 ? "+" : ""}${fmt(tb - ta)}`]];
      });
      results.push(
        table(
          [label, "A: account directly", "B: one-target route", "B − A"],
          [
            ["latency p50 (ms)", ms(sa.p50), ms(sb.p50), signed(sb.p50 - sa.p50)],
            ["latency p99 (ms)", ms(sa.p99), ms(sb.p99), signed(sb.p99 - sa.p99)],
            ["throughput (req/s)", ra.toFixed(0), rb.toFixed(0), `${(((rb - ra) / ra) * 100).toFixed(1)} %`],
            [
              "Gatehouse CPU µs per request",
              ca.toFixed(0),
              cb.toFixed(0),
              `${(((cb - ca) / ca) * 100).toFixed(1)} %`,
            ],
            ["failed", String(a.errors), String(b.errors), ""],
            ["p50 per measurement", a.rounds.map(ms).join(" "), b.rounds.map(ms).join(" "), ""],
            ["req/s per measurement, median (min–max)", spread(a.rps), spread(b.rps), ""],
            ["CPU µs per request per measurement", spread(a.cpuPerRequest), spread(b.cpuPerRequest), ""],
            ["throughput, B − A per round: median (min … max)", "", "", perRound("rps")],
            ["CPU µs per request, B − A per round", "", "", perRound("cpuPerRequest")],
            ...breakdown,
          ],
        ),
      );
      return ra;
    };
    if (only.includes("c1")) await measure("c=1", 1);
    if (only.includes("c64") || only.includes("fixed")) {
      const fullRate = only.includes("c64")
        ? await measure("c=64", 64)
        : await runAutocannon(direct, 64, seconds).then((s) => s.requests / s.durationS);
      const fixedRate = Math.max(50, Math.round(fullRate / 3 / 50) * 50);
      if (only.includes("fixed")) await measure(`c=64 at ${fixedRate} req/s`, 64, fixedRate);
    }

    // 2. Fallback cost, one call at a time, each failing-first call next to a one-target call.
    const fallback = async (name: string, n: number) => {
      const base: number[] = [];
      const failing: number[] = [];
      for (let i = 0; i < n; i++) {
        base.push(await timed(url, key, "bench-one"));
        failing.push(await timed(url, key, name));
      }
      const s0 = summarize(base);
      const s1 = summarize(failing);
      return [name, String(n), ms(s0.p50), ms(s1.p50), signed(s1.p50 - s0.p50), signed(s1.p99 - s0.p99)];
    };
    if (only.includes("fallback")) {
      log("fallback: refused connections …");
      const refused = await fallback("bench-refuse-first", calls);
      log("fallback: hanging first target …");
      const hung = await fallback("bench-hang-first", Math.min(12, calls));
      results.push(
        table(
          ["route", "calls", "one-target p50 (ms)", "failing-first p50 (ms)", "added p50", "added p99"],
          [refused, hung],
        ),
      );
    }

    const [l1, l5] = loadavg();
    const generated = [
      "## Routes: a one-target route against the account, and the cost of a fallback",
      "",
      `\`pnpm bench:routes\` (${count(rounds, "round")} × ${seconds} s per side and concurrency, A B B A; ${calls} refused / ${Math.min(12, calls)} hung fallback calls), ` +
        `${new Date().toISOString()}, ${hostname()}, Node ${process.version}, load average ${l1?.toFixed(2)} / ${l5?.toFixed(2)} at the end.`,
      "One process (`pnpm start` shape), bench mock upstream; every call authenticated and access-checked. The route",
      "is resolved and granted at ingress like an account (cached), and dispatch runs it from its cached plan: no extra",
      "round trip. The failing-first routes have `failure_threshold: 100` so every call tries the failing target first;",
      "the hang is bounded by the route's `first_byte_timeout_ms` (250 ms here; 60 s by default). \"Gatehouse CPU µs per",
      "request\" is the process's user + system time over the requests answered; at a fixed rate (the third table) both",
      "sides do the same work per second, so it compares the route's own cost without the batching a faster side gains.",
      "Spread: each measurement's figure (median, min–max) and each round's B against that round's own A (median and",
      'range over the rounds). The CPU is also split by thread: "main" is the event loop, "node" V8\'s and libuv\'s',
      "helper threads (parallel and concurrent GC, compilers), which a CPU profile does not see.",
      "",
      ...results.flatMap((t) => [t, ""]),
    ].join("\n");
    console.log(generated);
    if (every) writeResults(resolve(REPO_ROOT, "docs/benchmarks.md"), "bench:routes", generated);
  } finally {
    await cleanup.run();
  }
}

if (process.argv[1]?.endsWith("routes.js")) {
  main().catch((err: unknown) => {
    log(`bench:routes failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
}
