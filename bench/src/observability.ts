import { cpus, loadavg, release } from "node:os";
import { join } from "node:path";
import { gatehouseTarget, provision, REPO_ROOT, startGatehouse, verifyAndWarm } from "./gatehouse.js";
import { runAutocannon } from "./load.js";
import { type Cleanup, freePort, sampleProc, spawnNode, waitForHttp } from "./proc.js";
import { table } from "./report.js";
import { percentile } from "./stats.js";
import type { Target } from "./targets.js";

/**
 * What seeing every call costs: the one-process shape once per setting, identical but for
 * - off: no OTLP endpoint, `LOG_LEVEL=warn` (the other figures' setting);
 * - tracing: `OTEL_EXPORTER_OTLP_ENDPOINT` at a local OTLP/HTTP sink (its own process) that takes
 *   and discards what it is sent (the SDK's batch exporter does all its work; nothing is kept);
 * - tracing sampled: the same, with `OTEL_TRACES_SAMPLER=parentbased_traceidratio` at 0.1 (one call
 *   in ten recorded: what a deployment that samples pays);
 * - access log: `LOG_LEVEL=info`, one JSON access line per request to stdout (a pipe the bench reads).
 * - off again: a second instance with tracing off, started last: what two identical instances differ
 *   by (their start order, heap and code layout), which no alternation removes. A difference between
 *   the others smaller than this one's is not a finding.
 * Non-streaming chat calls at c=64, every round in A B C D E E D C B A order so drift hits all alike;
 * each side measured twice a round shows what noise alone looks like.
 */
export interface ObservabilityResult {
  sides: Side[];
  bytesReceived: number;
  exportRequests: number;
  /** CPU the OTLP sink's process used over the measured rounds (ms): what receiving the spans cost. */
  sinkCpuMs: number;
  loadBefore: number[];
  loadAfter: number[];
  rounds: number;
  durationS: number;
  connections: number;
}

interface Side {
  key: "off" | "tracing" | "sampled" | "logs" | "off2";
  label: string;
  requests: number;
  seconds: number;
  errors: number;
  latencies: number[];
  /** Throughput of each measurement (req/s), to tell a one-off from a steady gap. */
  perRun: number[];
  /** CPU the instance's processes used while this side was measured (user + system, ms). */
  cpuMs: number;
}

/** The OTLP sink in its own process (otlp-sink-main.ts); `stats()` asks it what it received. */
export async function startOtlpSink(
  cleanup: Cleanup,
): Promise<{ url: string; pid: number | undefined; stats(): Promise<SinkStats> }> {
  const port = await freePort();
  const child = spawnNode(
    {
      name: "otlp-sink",
      args: [join(REPO_ROOT, "bench/dist/otlp-sink-main.js")],
      env: { PORT: String(port) },
    },
    cleanup,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(child, `${url}/stats`, 10_000, (s) => s === 200);
  return {
    url,
    pid: child.pid,
    stats: async () => (await (await fetch(`${url}/stats`)).json()) as SinkStats,
  };
}

interface SinkStats {
  requests: number;
  bytes: number;
}

export async function measureObservability(options: {
  natsUrl: string;
  mockUrl: string;
  cleanup: Cleanup;
  rounds: number;
  durationS: number;
  warmupS: number;
  echo: boolean;
  log: (line: string) => void;
}): Promise<ObservabilityResult> {
  const { cleanup, log } = options;
  const connections = 64;
  const sink = await startOtlpSink(cleanup);
  const settings: { key: Side["key"]; label: string; env: Record<string, string> }[] = [
    { key: "off", label: "tracing off, access log off (warn)", env: {} },
    {
      key: "tracing",
      label: "tracing on → OTLP/HTTP (protobuf) sink",
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url },
    },
    {
      key: "sampled",
      label: "tracing on, 1 call in 10 sampled (parentbased_traceidratio)",
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
        OTEL_TRACES_SAMPLER_ARG: "0.1",
      },
    },
    {
      key: "logs",
      label: "access log on (info, JSON to a pipe)",
      env: { LOG_LEVEL: "info", LOG_FORMAT: "json" },
    },
    { key: "off2", label: "tracing off again (a second instance, started last)", env: {} },
  ];
  const targets = new Map<Side["key"], Target>();
  const sides = new Map<Side["key"], Side>();
  for (const s of settings) {
    log(`observability: starting gatehouse-one (${s.label}) …`);
    const gh = await startGatehouse({
      shape: "one",
      natsUrl: options.natsUrl,
      cleanup,
      echo: options.echo,
      env: s.env,
    });
    const p = await provision(gh, options.mockUrl);
    await verifyAndWarm(gh, p);
    targets.set(s.key, gatehouseTarget(gh, p));
    sides.set(s.key, {
      key: s.key,
      label: s.label,
      requests: 0,
      seconds: 0,
      errors: 0,
      latencies: [],
      perRun: [],
      cpuMs: 0,
    });
  }
  for (const s of settings) {
    log(`observability: warm-up ${s.label} (${options.warmupS}s)`);
    await runAutocannon(targets.get(s.key) as Target, 16, options.warmupS);
  }
  const loadBefore = loadavg();
  const sinkCpu = () => (sink.pid === undefined ? 0 : (sampleProc(sink.pid)?.cpuMs ?? 0));
  const sinkCpuBefore = sinkCpu();
  const keys = settings.map((x) => x.key);
  const order: Side["key"][] = [...keys, ...[...keys].reverse()];
  for (let round = 1; round <= options.rounds; round++) {
    for (const key of order) {
      const side = sides.get(key) as Side;
      log(
        `observability round ${round}/${options.rounds}: ${side.label}, c=${connections}, ${options.durationS}s`,
      );
      const target = targets.get(key) as Target;
      const cpu = () => target.processes.reduce((sum, proc) => sum + (sampleProc(proc.pid)?.cpuMs ?? 0), 0);
      const cpuBefore = cpu();
      const r = await runAutocannon(target, connections, options.durationS);
      side.cpuMs += cpu() - cpuBefore;
      side.requests += r.requests;
      side.seconds += r.durationS;
      side.errors += r.non2xx + r.errors + r.timeouts;
      for (const v of r.latenciesMs) side.latencies.push(v);
      side.perRun.push(r.requests / r.durationS);
    }
  }
  const loadAfter = loadavg();
  const sinkCpuMs = sinkCpu() - sinkCpuBefore;
  // The batch exporter sends every few seconds: give it time to deliver what the last round made.
  await new Promise((resolve) => setTimeout(resolve, 6_000));
  const received = await sink.stats();
  return {
    sides: [...sides.values()],
    bytesReceived: received.bytes,
    exportRequests: received.requests,
    sinkCpuMs,
    loadBefore,
    loadAfter,
    rounds: options.rounds,
    durationS: options.durationS,
    connections,
  };
}

const fixed = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : "–");

export function renderObservability(r: ObservabilityResult, command: string, started: Date): string {
  const off = r.sides.find((s) => s.key === "off");
  const offRate = off ? off.requests / off.seconds : Number.NaN;
  const cpuPerRequest = (s: Side) => (s.cpuMs * 1000) / s.requests;
  const offCpu = off ? cpuPerRequest(off) : Number.NaN;
  const rows = r.sides.map((s) => {
    const sorted = [...s.latencies].sort((a, b) => a - b);
    const rate = s.requests / s.seconds;
    return [
      s.label,
      fixed(rate, 0),
      s.key === "off" ? "—" : `${fixed(((rate - offRate) / offRate) * 100)} %`,
      s.perRun.map((v) => fixed(v, 0)).join(" / "),
      fixed(cpuPerRequest(s), 0),
      s.key === "off" ? "—" : `${fixed(cpuPerRequest(s) - offCpu, 0)}`,
      fixed(percentile(sorted, 50), 2),
      fixed(percentile(sorted, 99), 2),
      String(s.errors),
    ];
  });
  const cpu = cpus();
  return [
    "## Seeing every call: tracing and access logs (A/B/C)",
    "",
    `\`${command}\` — ${started.toISOString()}, ${cpu.length} × ${cpu[0]?.model ?? "cpu"}, Linux ${release()},`,
    `load average ${r.loadBefore.map((v) => v.toFixed(2)).join(" ")} before and ${r.loadAfter
      .map((v) => v.toFixed(2))
      .join(" ")} after the measured rounds (the machine is shared).`,
    "",
    `Non-streaming chat through the one-process shape at c=${r.connections}, ${r.rounds} round(s) of ` +
      `${r.durationS} s per side in A B C D E E D C B A order, ${r.sides.length} instances side by side. ` +
      `The OTLP sink took ${r.exportRequests} export requests (${(r.bytesReceived / 1e6).toFixed(1)} MB) ` +
      `and used ${fixed(r.sinkCpuMs, 0)} ms of CPU receiving them. CPU µs/request is the instance's ` +
      "processes' CPU time (user + system) over the calls they answered.",
    "",
    table(
      [
        "setting",
        "req/s",
        "vs off",
        "each measurement (req/s)",
        "CPU µs/request",
        "vs off (µs)",
        "p50 ms",
        "p99 ms",
        "errors",
      ],
      rows,
    ),
    "",
    "Tracing off is the code path every other figure in this file runs: no span, no wrapped handler,",
    'an access line skipped at `warn`. The spread between the two "off" measurements of a round is',
    'this machine\'s noise; "off again" (the same settings in another instance) is what two instances',
    "differ by however the load alternates: together, the floor under any difference above.",
  ].join("\n");
}
