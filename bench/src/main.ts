#!/usr/bin/env node
import { cpus, release } from "node:os";
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
import { EXTRA_CROSSINGS, type HopResult, measureHops } from "./hops.js";
import { obtainNats } from "./infra.js";
import { runAutocannon, runStreams } from "./load.js";
import { type ManyStreamsSample, poolManyStreams, runManyStreams } from "./many-streams.js";
import { startMockProcess } from "./mock-process.js";
import { startPortkey } from "./portkey.js";
import { Cleanup, type ProcSample, ProcWatch, sampleProc } from "./proc.js";
import { startRelay } from "./relay.js";
import {
  type Figures,
  int,
  mb,
  ms,
  type Pooled,
  pooledSummary,
  ratio,
  signed,
  table,
  writeResults,
} from "./report.js";
import { type Summary, summarize } from "./stats.js";
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
  if (config.write) {
    const file = join(REPO_ROOT, config.outFile);
    writeResults(file, "bench", md);
    log(`wrote ${file}`);
  }
}

function renderManyStreams(targets: Target[], many: Map<TargetKey, ManyStreamsSample[]>): string[] {
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const t of targets) {
    const s = poolManyStreams(many.get(t.key) ?? []);
    if (!s) continue;
    const first = summarize(s.ttfbMs);
    const total = summarize(s.totalMs);
    const peaks = t.processes.map((p) => `${p.name} ${mb(s.peakRssKb.get(p.pid) ?? 0)}`);
    rows.push([
      t.label,
      int(s.count),
      s.errors === 0 ? "0" : `**${s.errors}**`,
      ms(first.p50),
      ms(first.p99),
      ms(total.p50),
      ms(total.p99),
      peaks.join(", "),
    ]);
    if (s.errors > 0) {
      notes.push(`- **${t.label}**: ${[...s.failures].map(([k, n]) => `${k} ×${n}`).join(", ")}`);
    }
  }
  if (rows.length === 0) return [];
  return [
    `#### ${int(config.manyStreams)} streams at once, 20 chunks 5 ms apart (ms)`,
    "",
    `${config.rounds} round(s) per target; each round starts ${int(config.manyStreams)} streaming calls together, ` +
      "each on its own connection. An error is any non-2xx, socket error, timeout or stream that ended " +
      "before `data: [DONE]`. Peak RSS is sampled every 100 ms during these rounds only.",
    "",
    table(
      ["target", "streams", "errors", "first p50", "first p99", "total p50", "total p99", "peak RSS MB"],
      rows,
    ),
    "",
    ...notes,
    ...(notes.length > 0 ? [""] : []),
  ];
}

/** The hop table, and what the shape's extra crossings cost against the relay floor's added p50. */
function renderHops(h: HopResult, relay: Summary | undefined, mock: Summary | undefined): string[] {
  const other = summarize(h.otherProcessMs);
  const same = summarize(h.sameProcessMs);
  const floor =
    relay && mock ? ` The relay floor added ${signed(relay.p50 - mock.p50)} ms p50 at c=1 in this run.` : "";
  return [
    "#### A process hop on this machine (ms)",
    "",
    table(
      ["64-byte round trip over loopback TCP, sequential", "n", "p50", "p99", "max"],
      [
        [
          "to a Node echo server in another process",
          int(other.n),
          ms(other.p50),
          ms(other.p99),
          ms(other.max),
        ],
        ["to a Node echo server in the same process", int(same.n), ms(same.p50), ms(same.p99), ms(same.max)],
      ],
    ),
    "",
    `A call through an HTTP → NATS → HTTP gateway crosses between processes ${EXTRA_CROSSINGS} times more than a direct call ` +
      `(client → ingress → nats-server → dispatch → upstream and back): ${EXTRA_CROSSINGS / 2} round trips to another process, ` +
      `${ms((EXTRA_CROSSINGS / 2) * other.p50)} ms at p50, before the gateway does any work.${floor}`,
    "",
  ];
}

interface RenderInput {
  started: Date;
  targets: Target[];
  unavailable: UnavailableTarget[];
  figures: Figures;
  streamsExtra: Map<string, { spread: number[]; events: number[] }>;
  afterWarmup: Map<number, ProcSample>;
  atEnd: Map<number, ProcSample>;
  cpuAtC64: Map<number, { cpuMs: number; requests: number }>;
  watch: ProcWatch;
  running: { gh: RunningGatehouse; cold?: ColdKeyResult; coldError?: string }[];
  setups: string[];
  streamFailures: Map<TargetKey, string>;
  hops: HopResult | undefined;
  many: Map<TargetKey, ManyStreamsSample[]>;
}

function render(r: RenderInput): string {
  const cpu = cpus();
  const out: string[] = [];
  const mode = config.quick ? "quick" : "full";
  out.push(`### Run of ${r.started.toISOString().slice(0, 16).replace("T", " ")} UTC (${mode} mode)`);
  out.push("");
  out.push(
    `Machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? "unknown CPU"}), Linux ${release()}, Node ${process.version}. ` +
      `Each non-streaming figure: ${config.rounds} round(s) × ${config.durationS} s per target after a ${config.warmupS} s warm-up; ` +
      `streaming: ${config.rounds} × ${config.streams} sequential streams per target. Targets alternate within every round.`,
  );
  for (const s of r.setups) out.push(`- ${s}`);
  for (const u of r.unavailable) out.push(`- **${u.label}: unavailable** — ${u.unavailable}`);
  out.push("");

  const mockKey: TargetKey = "mock";
  const has = (k: TargetKey) => r.targets.some((t) => t.key === k);
  for (const [figure, title] of [
    ["c1", "Non-streaming, concurrency 1"],
    ["c64", "Non-streaming, concurrency 64"],
  ] as const) {
    const byTarget = r.figures.get(figure);
    if (!byTarget) continue;
    const base = pooledSummary(byTarget.get(mockKey));
    const relay = pooledSummary(byTarget.get("relay"));
    out.push(`#### ${title} (latency in ms)`);
    out.push("");
    out.push(
      table(
        ["target", "req/s", "p50", "p99", "max", "added p50", "added p99", "p50 over relay floor", "errors"],
        r.targets.map((t) => {
          const s = pooledSummary(byTarget.get(t.key));
          if (!s) return [t.label, "–", "–", "–", "–", "–", "–", "–", "–"];
          const isBase = t.key === mockKey;
          return [
            t.label,
            int(s.rps),
            ms(s.p50),
            ms(s.p99),
            ms(s.max),
            isBase || !base ? "–" : signed(s.p50 - base.p50),
            isBase || !base ? "–" : signed(s.p99 - base.p99),
            !relay || isBase || t.key === "relay" ? "–" : signed(s.p50 - relay.p50),
            s.errors === 0 ? "0" : `**${s.errors}**`,
          ];
        }),
      ),
    );
    out.push("");
  }
  if (r.hops)
    out.push(
      ...renderHops(
        r.hops,
        pooledSummary(r.figures.get("c1")?.get("relay")),
        pooledSummary(r.figures.get("c1")?.get(mockKey)),
      ),
    );

  for (const [kind, title, expect] of [
    ["ttfb", "Streaming, 20 chunks 5 ms apart: time to first chunk", "≈ 95 ms when no chunk is held back"],
    ["stream200", "Streaming, 200 chunks back to back: first chunk and whole stream", ""],
  ] as const) {
    const first = r.figures.get(`${kind}-first`);
    const total = r.figures.get(`${kind}-total`);
    if (!first || !total) continue;
    const b1 = pooledSummary(first.get(mockKey));
    const bt = pooledSummary(total.get(mockKey));
    const r1 = pooledSummary(first.get("relay"));
    out.push(`#### ${title} (ms)`);
    out.push("");
    out.push(
      table(
        [
          "target",
          "first p50",
          "first p99",
          "added first p50",
          "first p50 over relay floor",
          "total p50",
          "total p99",
          "added total p50",
          `first→last p50${expect ? ` (${expect})` : ""}`,
          "SSE events p50",
          "errors",
        ],
        r.targets.map((t) => {
          const f = pooledSummary(first.get(t.key));
          const tt = pooledSummary(total.get(t.key));
          const extra = r.streamsExtra.get(`${kind}:${t.key}`);
          if (!f || !tt) return [t.label, ...Array(10).fill("–")];
          const isBase = t.key === mockKey;
          return [
            t.label,
            ms(f.p50),
            ms(f.p99),
            isBase || !b1 ? "–" : signed(f.p50 - b1.p50),
            !r1 || isBase || t.key === "relay" ? "–" : signed(f.p50 - r1.p50),
            ms(tt.p50),
            ms(tt.p99),
            isBase || !bt ? "–" : signed(tt.p50 - bt.p50),
            ms(summarize(extra?.spread ?? []).p50),
            int(summarize(extra?.events ?? []).p50),
            f.errors === 0 ? "0" : `**${f.errors}**`,
          ];
        }),
      ),
    );
    out.push("");
  }
  for (const [key, failure] of r.streamFailures)
    out.push(`- **${TARGET_LABELS[key]} streaming errors**: ${failure}`);
  if (r.streamFailures.size > 0) out.push("");

  out.push(...renderManyStreams(r.targets, r.many));

  if (has("portkey")) {
    const rows: string[][] = [];
    for (const t of r.targets.filter((x) => x.key.startsWith("gatehouse"))) {
      for (const figure of ["c1", "c64"]) {
        const by = r.figures.get(figure);
        const g = pooledSummary(by?.get(t.key));
        const p = pooledSummary(by?.get("portkey"));
        const m = pooledSummary(by?.get(mockKey));
        if (!g || !p || !m) continue;
        rows.push([
          `${t.label}, c=${figure.slice(1)}`,
          ratio(g.rps, p.rps),
          ratio(g.p50, p.p50),
          ratio(g.p99, p.p99),
          ratio(g.max, p.max),
          ratio(g.p50 - m.p50, p.p50 - m.p50),
          ratio(g.p99 - m.p99, p.p99 - m.p99),
        ]);
      }
      for (const kind of ["ttfb", "stream200"]) {
        const g = pooledSummary(r.figures.get(`${kind}-first`)?.get(t.key));
        const p = pooledSummary(r.figures.get(`${kind}-first`)?.get("portkey"));
        const gt = pooledSummary(r.figures.get(`${kind}-total`)?.get(t.key));
        const pt = pooledSummary(r.figures.get(`${kind}-total`)?.get("portkey"));
        if (!g || !p || !gt || !pt) continue;
        rows.push([
          `${t.label}, stream ${kind} (first chunk / total)`,
          "–",
          ratio(g.p50, p.p50),
          ratio(g.p99, p.p99),
          "–",
          ratio(gt.p50, pt.p50),
          ratio(gt.p99, pt.p99),
        ]);
      }
    }
    if (rows.length > 0) {
      out.push("#### Gatehouse ÷ Portkey (throughput: higher is better; latencies: lower is better)");
      out.push("");
      out.push(
        table(
          [
            "figure",
            "req/s",
            "p50",
            "p99",
            "max",
            "added p50 (stream: total p50)",
            "added p99 (stream: total p99)",
          ],
          rows,
        ),
      );
      out.push("");
    }
  }

  out.push("#### Processes: CPU and memory");
  out.push("");
  const procRows: string[][] = [];
  for (const t of r.targets) {
    for (const p of t.processes) {
      const w = r.afterWarmup.get(p.pid);
      const e = r.atEnd.get(p.pid);
      const c = r.cpuAtC64.get(p.pid);
      const growth = w && e ? e.rssKb - w.rssKb : Number.NaN;
      procRows.push([
        `${t.label}: ${p.name}`,
        w && e ? ((e.cpuMs - w.cpuMs) / 1000).toFixed(1) : "–",
        c && c.requests > 0 ? int((c.cpuMs * 1000) / c.requests) : "–",
        mb(w?.rssKb ?? 0),
        mb(e?.rssKb ?? 0),
        Number.isFinite(growth)
          ? `${growth >= 0 ? "+" : ""}${mb(Math.abs(growth)) === "–" ? "0.0" : (growth / 1024).toFixed(1)}`
          : "–",
        mb(Math.max(e?.hwmKb ?? 0, r.watch.peakKb(p.pid))),
      ]);
    }
  }
  out.push(
    table(
      [
        "process",
        "CPU s (whole measured run)",
        "CPU µs per request at c=64",
        "RSS MB after warm-up",
        "RSS MB at end",
        "RSS growth MB",
        "peak RSS MB (VmHWM)",
      ],
      procRows,
    ),
  );
  out.push("");

  for (const x of r.running) {
    const label = TARGET_LABELS[x.gh.shape === "one" ? "gatehouse-one" : "gatehouse-separate"];
    if (x.coldError) {
      out.push(`Cold-cache key validation, ${label}: **failed** — ${x.coldError}`);
      out.push("");
      continue;
    }
    if (!x.cold) continue;
    const f = summarize(x.cold.firstMs);
    const s = summarize(x.cold.secondMs);
    const v = summarize(x.cold.natsValidateMs);
    out.push(`#### Key validation with a cold cache, ${label} (ms)`);
    out.push("");
    out.push(
      table(
        ["measurement", "n", "p50", "p99", "max"],
        [
          [
            "first request with a fresh VAT (ingress cache miss)",
            String(f.n),
            ms(f.p50),
            ms(f.p99),
            ms(f.max),
          ],
          ["second request, same VAT (cache hit)", String(s.n), ms(s.p50), ms(s.p99), ms(s.max)],
          ["difference of the two (p50)", "", signed(f.p50 - s.p50), "", ""],
          [
            "`auth.validate` over NATS directly (NATS + auth + Postgres)",
            String(v.n),
            ms(v.p50),
            ms(v.p99),
            ms(v.max),
          ],
        ],
      ),
    );
    if (x.cold.failures.length > 0)
      out.push(`\n**${x.cold.failures.length} failures**: ${x.cold.failures.slice(0, 3).join("; ")}`);
    out.push("");
  }
  return out.join("\n");
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
