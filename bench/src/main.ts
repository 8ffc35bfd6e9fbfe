#!/usr/bin/env node
import { join } from "node:path";
import { type ColdKeyResult, measureColdKeys } from "./coldkeys.js";
import { loadBenchConfig } from "./config.js";
import {
  gatehouseTarget,
  provision,
  REPO_ROOT,
  type RunningGatehouse,
  startGatehouse,
  Unavailable,
  verifyAndWarm,
} from "./gatehouse.js";
import { type HopResult, measureHops } from "./hops.js";
import { obtainNats } from "./infra.js";
import { runAutocannon, runStreams } from "./load.js";
import { type ManyStreamsSample, runManyStreams } from "./many-streams.js";
import { startMockProcess } from "./mock-process.js";
import { measureObservability, type ObservabilityResult, renderObservability } from "./observability.js";
import { startPortkey } from "./portkey.js";
import { Cleanup, type ProcSample, ProcWatch, sampleProc } from "./proc.js";
import { startRelay } from "./relay.js";
import { type Figures, type Pooled, render, writeResults } from "./report.js";
import { TARGET_LABELS, type Target, type TargetKey, type UnavailableTarget } from "./targets.js";

const config = loadBenchConfig(process.argv.slice(2), process.env);
const cleanup = new Cleanup();
const log = (line: string) => process.stderr.write(`${line}\n`);
// The whole run is bounded: rounds × targets × figures, plus a hard stop as a backstop.
const HARD_STOP_MS = 45 * 60_000;

async function main(): Promise<void> {
  const started = new Date();
  const hardStop = setTimeout(() => {
    log("benchmark exceeded its time limit; cleaning up");
    void cleanup.run().then(() => process.exit(2));
  }, HARD_STOP_MS);
  hardStop.unref();

  // 1. The mock upstream, in its own process.
  const { url: mockUrl, child: mockChild } = await startMockProcess(cleanup);
  const targets: Target[] = [
    {
      key: "mock",
      label: TARGET_LABELS.mock,
      url: `${mockUrl}/v1/chat/completions`,
      headers: { "content-type": "application/json", authorization: "Bearer sk-bench" },
      model: (kind) =>
        kind === "small" ? "bench-small" : kind === "stream200" ? "bench-c200-d0" : "bench-c20-d5",
      processes: [{ name: "mock", pid: mockChild.pid }],
    },
  ];
  const unavailable: UnavailableTarget[] = [];
  const running: { gh: RunningGatehouse; cold?: ColdKeyResult; coldError?: string }[] = [];
  const setups: string[] = [];

  // 2. Gatehouse, both shapes, with auth and access control on.
  let natsUrl: string | undefined;
  try {
    natsUrl = await obtainNats(cleanup);
  } catch (err) {
    for (const key of ["gatehouse-one", "gatehouse-separate"] as const) {
      unavailable.push({ key, label: TARGET_LABELS[key], unavailable: (err as Error).message });
    }
  }
  if (natsUrl) {
    for (const shape of ["one", "separate"] as const) {
      const key: TargetKey = shape === "one" ? "gatehouse-one" : "gatehouse-separate";
      try {
        log(`starting ${TARGET_LABELS[key]} …`);
        const gh = await startGatehouse({ shape, natsUrl, cleanup, echo: config.echo });
        const p = await provision(gh, mockUrl);
        await verifyAndWarm(gh, p);
        targets.push(gatehouseTarget(gh, p));
        running.push({ gh });
        setups.push(`${TARGET_LABELS[key]}: ${gh.processes.map((x) => x.name).join(", ")} on ${gh.database}`);
        (running.at(-1) as { provisioned?: unknown }).provisioned = p;
      } catch (err) {
        const reason = err instanceof Unavailable ? err.message : `unexpected: ${(err as Error).stack}`;
        log(`${TARGET_LABELS[key]} unavailable: ${reason}`);
        unavailable.push({ key, label: TARGET_LABELS[key], unavailable: reason });
      }
    }
  }

  // 3. The relay floor: what an HTTP → NATS → HTTP hop costs here with no checks at all.
  if (natsUrl) {
    try {
      log("starting the relay floor …");
      targets.splice(1, 0, await startRelay(mockUrl, natsUrl, cleanup));
    } catch (err) {
      unavailable.push({ key: "relay", label: TARGET_LABELS.relay, unavailable: (err as Error).message });
    }
  }

  // 4. Portkey.
  try {
    log("starting Portkey …");
    const portkey = await startPortkey(mockUrl, cleanup);
    const probe = await runAutocannon(portkey, 1, 1);
    if (probe.requests === 0 || probe.non2xx > 0 || probe.errors > 0) {
      throw new Error(`probe: ${probe.requests} requests, ${probe.non2xx} non-2xx, ${probe.errors} errors`);
    }
    targets.push(portkey);
  } catch (err) {
    unavailable.push({ key: "portkey", label: TARGET_LABELS.portkey, unavailable: (err as Error).message });
  }

  const pidsOf = (t: Target) => t.processes.map((p) => p.pid);
  const watch = new ProcWatch(() => targets.flatMap(pidsOf));

  // 4. Warm-up, then alternating rounds: every figure visits every target in turn.
  for (const t of targets) {
    log(`warm-up ${t.label} (${config.warmupS}s)`);
    await runAutocannon(t, 16, config.warmupS);
    await runStreams(t, "stream200", 5);
  }
  const afterWarmup = new Map<number, ProcSample>();
  for (const pid of targets.flatMap(pidsOf)) {
    const s = sampleProc(pid);
    if (s) afterWarmup.set(pid, s);
  }
  const figures: Figures = new Map();
  const add = (figure: string, key: TargetKey, s: Omit<Pooled, "latencies"> & { latencies: number[] }) => {
    const byTarget = figures.get(figure) ?? new Map<TargetKey, Pooled>();
    figures.set(figure, byTarget);
    const p = byTarget.get(key) ?? { requests: 0, durationS: 0, latencies: [], errors: 0 };
    p.requests += s.requests;
    p.durationS += s.durationS;
    for (const v of s.latencies) p.latencies.push(v);
    p.errors += s.errors;
    byTarget.set(key, p);
  };
  const streamsExtra = new Map<string, { spread: number[]; events: number[] }>();
  const streamFailures = new Map<TargetKey, string>();
  const cpuAtC64 = new Map<number, { cpuMs: number; requests: number }>();

  for (let round = 1; round <= config.rounds; round++) {
    for (const c of config.concurrency) {
      for (const t of targets) {
        log(`round ${round}/${config.rounds}: ${t.label}, c=${c}, ${config.durationS}s`);
        const before = new Map(pidsOf(t).map((pid) => [pid, sampleProc(pid)?.cpuMs ?? 0]));
        const r = await runAutocannon(t, c, config.durationS);
        add(`c${c}`, t.key, {
          requests: r.requests,
          durationS: r.durationS,
          latencies: r.latenciesMs,
          errors: r.non2xx + r.errors + r.timeouts,
        });
        if (c === 64) {
          for (const [pid, cpu0] of before) {
            const acc = cpuAtC64.get(pid) ?? { cpuMs: 0, requests: 0 };
            acc.cpuMs += (sampleProc(pid)?.cpuMs ?? cpu0) - cpu0;
            acc.requests += r.requests;
            cpuAtC64.set(pid, acc);
          }
        }
      }
    }
    for (const kind of ["ttfb", "stream200"] as const) {
      for (const t of targets) {
        log(`round ${round}/${config.rounds}: ${t.label}, stream ${kind}, ${config.streams} streams`);
        const s = await runStreams(t, kind, config.streams);
        if (s.firstError && !streamFailures.has(t.key)) {
          streamFailures.set(
            t.key,
            `${s.non2xx + s.errors}/${config.streams} ${kind} streams failed, first: ${s.firstError}`,
          );
        }
        add(`${kind}-first`, t.key, {
          requests: s.ttfbMs.length,
          durationS: 1,
          latencies: s.ttfbMs,
          errors: s.non2xx + s.errors,
        });
        add(`${kind}-total`, t.key, {
          requests: s.totalMs.length,
          durationS: 1,
          latencies: s.totalMs,
          errors: 0,
        });
        const extra = streamsExtra.get(`${kind}:${t.key}`) ?? { spread: [], events: [] };
        extra.spread.push(...s.spreadMs);
        extra.events.push(...s.events);
        streamsExtra.set(`${kind}:${t.key}`, extra);
      }
    }
  }
  watch.tick();
  const atEnd = new Map<number, ProcSample>();
  for (const pid of targets.flatMap(pidsOf)) {
    const s = sampleProc(pid);
    if (s) atEnd.set(pid, s);
  }

  // What one process hop costs here: the floor under the shape's added latency.
  let hops: HopResult | undefined;
  try {
    log("process hops: loopback round trips to another process and within one");
    hops = await measureHops(cleanup, config.rounds, config.quick ? 1_000 : 3_000);
  } catch (err) {
    log(`process hops not measured: ${(err as Error).message}`);
  }

  // 5. Cold-cache key validation (after the load, so it does not disturb it).
  for (const r of running) {
    const p = (r as { provisioned?: Parameters<typeof measureColdKeys>[1] }).provisioned;
    if (!p || !natsUrl) continue;
    try {
      log(`cold keys: ${r.gh.shape} (${config.coldKeys} keys)`);
      r.cold = await measureColdKeys(r.gh, p, natsUrl, config.coldKeys);
    } catch (err) {
      r.coldError = (err as Error).message;
    }
  }
  watch.stop();

  // 5b. Tracing and access logs, each against neither, on instances of their own.
  let observability: ObservabilityResult | undefined;
  if (natsUrl) {
    try {
      observability = await measureObservability({ natsUrl, mockUrl, cleanup, log, ...config });
    } catch (err) {
      log(`tracing/access-log A/B not measured: ${(err as Error).message}`);
    }
  }

  // 6. Many streams at once, last, so that their memory peaks do not colour the figures above.
  // Portkey is left out: its streaming fails on Node 20 already one stream at a time.
  const many = new Map<TargetKey, ManyStreamsSample[]>();
  for (let round = 1; round <= config.rounds; round++) {
    for (const t of targets.filter((x) => x.key !== "portkey")) {
      log(`round ${round}/${config.rounds}: ${t.label}, ${config.manyStreams} concurrent streams`);
      const s = await runManyStreams(t, config.manyStreams);
      if (s.errors > 0)
        log(`  ${s.errors} failed: ${[...s.failures].map(([k, n]) => `${k} ×${n}`).join(", ")}`);
      many.set(t.key, [...(many.get(t.key) ?? []), s]);
    }
  }

  // 7. Report.
  const md = render({
    config,
    started,
    targets,
    unavailable,
    figures,
    streamsExtra,
    afterWarmup,
    atEnd,
    cpuAtC64,
    watch,
    running,
    setups,
    streamFailures,
    hops,
    many,
  });
  process.stdout.write(`\n${md}\n`);
  // Portkey's own failures (its streaming breaks on Node 20) are reported in the tables; they are
  // not a failure of this run. Errors from the mock, the relay or Gatehouse are.
  const errorsOf = (keep: (k: TargetKey) => boolean) =>
    [...figures.values()]
      .flatMap((m) => [...m].filter(([k]) => keep(k)).map(([, p]) => p.errors))
      .reduce((a, n) => a + n, 0);
  const totalErrors = errorsOf((k) => k !== "portkey");
  const peerErrors = errorsOf((k) => k === "portkey");
  if (peerErrors > 0) log(`note: ${peerErrors} Portkey requests failed (see its errors columns)`);
  if (totalErrors > 0) {
    log(`\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!`);
    log(`!!! ${totalErrors} FAILED REQUESTS (non-2xx, socket errors or timeouts) — see the errors columns`);
    log(`!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n`);
    process.exitCode = 1;
  }
  const observabilityMd = observability
    ? renderObservability(observability, "pnpm bench", started)
    : undefined;
  if (observabilityMd) process.stdout.write(`\n${observabilityMd}\n`);
  if (config.write) {
    const file = join(REPO_ROOT, config.outFile);
    writeResults(file, "bench", md);
    if (observabilityMd) writeResults(file, "bench-observability", observabilityMd);
    log(`wrote ${file}`);
  }
}

const onSignal = (signal: string) => {
  log(`${signal}: cleaning up`);
  void cleanup.run().then(() => process.exit(130));
};
process.once("SIGINT", () => onSignal("SIGINT"));
process.once("SIGTERM", () => onSignal("SIGTERM"));

try {
  await main();
} catch (err) {
  log(`benchmark failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
} finally {
  await cleanup.run();
}
// Keep-alive sockets and timers of libraries must not keep a finished benchmark alive.
setTimeout(() => process.exit(process.exitCode ?? 0), 500).unref();
