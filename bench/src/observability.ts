import { cpus, loadavg, release } from "node:os";
import { join } from "node:path";
import { gatehouseTarget, provision, REPO_ROOT, startGatehouse, verifyAndWarm } from "./gatehouse.js";
import { runAutocannon } from "./load.js";
import {
  busyOf,
  type Comparison,
  compareRounds,
  cpuPerRequestOf,
  type Measurement,
  mirroredSchedule,
  type RoundPair,
  rateOf,
  type Verdict,
  verdict,
} from "./paired.js";
import { type PinPlan, pin, pinPlan } from "./pin.js";
import { type Cleanup, freePort, sampleProc, sleep, spawnNode, waitForHttp } from "./proc.js";
import { table } from "./report.js";
import { median, percentile } from "./stats.js";
import type { Target } from "./targets.js";

/**
 * What seeing every call costs: the one-process shape once per setting, identical but for
 * - off: no OTLP endpoint, `LOG_LEVEL=warn` (the other figures' setting) — the reference;
 * - tracing: `OTEL_EXPORTER_OTLP_ENDPOINT` at a local OTLP/HTTP sink (its own process) that takes
 *   and discards what it is sent (the exporter does all its work; nothing is kept);
 * - tracing sampled: the same, with `OTEL_TRACES_SAMPLER=parentbased_traceidratio` at 0.1 (one call
 *   in ten recorded: what a deployment that samples pays);
 * - access log: `LOG_LEVEL=info`, one JSON access line per request to stdout (a pipe the bench reads);
 * - off again: a second instance with tracing off, started last: the A/A control, judged exactly as
 *   the others are. What two identical instances differ by (start order, heap and code layout, and
 *   this machine's noise) is the floor under any other difference.
 * Non-streaming chat at c=64, many short rounds of every instance twice in mirrored order, rotated
 * each round (paired.ts); each setting's figure is the median over the rounds of its change from off
 * in the same round, with a distribution-free interval. By default each
 * gateway instance runs pinned to the last CPU and the load generator, mock upstream and sink to the
 * others (pin.ts), so the bench's own processes do not take turns on the gateway's core.
 */
export interface ObservabilityResult {
  sides: Side[];
  comparisons: { key: SideKey; rounds: RoundPair[] }[];
  bytesReceived: number;
  exportRequests: number;
  /** CPU the OTLP sink's process used over the measured rounds (ms): what receiving the spans cost. */
  sinkCpuMs: number;
  loadBefore: number[];
  loadAfter: number[];
  rounds: number;
  durationS: number;
  settleMs: number;
  connections: number;
  /** The pinning used, or why there was none. */
  pinning: PinPlan | string;
  /** Wall-clock seconds of the measured rounds. */
  elapsedS: number;
}

type SideKey = "off" | "tracing" | "sampled" | "logs" | "off2";

interface Side {
  key: SideKey;
  label: string;
  measurements: Measurement[];
  errors: number;
  latencies: number[];
}

/** ≤ 10 % throughput: the goal tracing on is held to (issue 16). */
export const TRACING_LIMIT = 0.1;
/** Coverage asked of each median's interval. */
export const CONFIDENCE = 0.9;

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
  /** The mock upstream's process, pinned with the helpers when known. */
  mockPid?: number;
  cleanup: Cleanup;
  /** Rounds: each measures every instance twice. */
  rounds: number;
  /** Seconds per measurement. */
  durationS: number;
  warmupS: number;
  /** Pin the gateway to a CPU of its own (default: when taskset and 2+ CPUs are there). */
  pin?: boolean;
  /** Pause before each measurement, so the previous instance's trailing work (an export, a usage flush) ends first. */
  settleMs?: number;
  echo: boolean;
  log: (line: string) => void;
}): Promise<ObservabilityResult> {
  const { cleanup, log } = options;
  const connections = 64;
  const settleMs = options.settleMs ?? 250;
  const sink = await startOtlpSink(cleanup);
  const settings: { key: SideKey; label: string; env: Record<string, string> }[] = [
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
    { key: "off2", label: "tracing off again (a second instance, started last: A/A)", env: {} },
  ];
  const pinning: PinPlan | string = options.pin === false ? "not asked (--no-pin)" : pinPlan();
  const plan = typeof pinning === "string" ? undefined : pinning;
  const targets = new Map<SideKey, Target>();
  const sides = new Map<SideKey, Side>();
  // The first instance a run started read 15-20 % cheaper per request than identical ones started
  // after it, whatever its setting (docs/benchmarks.md, "Reading the block above (after tracefix)"):
  // a primer takes that place, idle and never measured.
  log("observability: starting a primer instance (never measured) …");
  const primer = await startGatehouse({
    shape: "one",
    natsUrl: options.natsUrl,
    cleanup,
    echo: options.echo,
  });
  await verifyAndWarm(primer, await provision(primer, options.mockUrl));
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
    const target = gatehouseTarget(gh, p);
    if (plan) for (const proc of target.processes) pin(proc.pid, plan.measured);
    targets.set(s.key, target);
    sides.set(s.key, { key: s.key, label: s.label, measurements: [], errors: 0, latencies: [] });
  }
  const measure = async (key: SideKey): Promise<Measurement> => {
    const side = sides.get(key) as Side;
    const target = targets.get(key) as Target;
    const cpu = () => target.processes.reduce((sum, proc) => sum + (sampleProc(proc.pid)?.cpuMs ?? 0), 0);
    await sleep(settleMs);
    const cpuBefore = cpu();
    const r = await runAutocannon(target, connections, options.durationS);
    const m = { requests: r.requests, seconds: r.durationS, cpuMs: cpu() - cpuBefore };
    side.measurements.push(m);
    side.errors += r.non2xx + r.errors + r.timeouts;
    for (const v of r.latenciesMs) side.latencies.push(v);
    return m;
  };
  const keys = settings.map((x) => x.key);
  const rounds = Array.from({ length: options.rounds }, () => new Map<SideKey, Measurement[]>());
  const measureRounds = async () => {
    for (const s of settings) {
      log(`observability: warm-up ${s.label} (${options.warmupS}s, c=${connections})`);
      await runAutocannon(targets.get(s.key) as Target, connections, options.warmupS);
    }
    for (const [i, step] of mirroredSchedule(keys, options.rounds).entries()) {
      const round = rounds[step.round] as Map<SideKey, Measurement[]>;
      round.set(step.key, [...(round.get(step.key) ?? []), await measure(step.key)]);
      if (i % (2 * keys.length) === 2 * keys.length - 1) {
        const a = round.get("off") ?? [];
        const changes = keys
          .filter((k) => k !== "off")
          .map((k) => `${k} ${((rateOf(round.get(k) ?? []) / rateOf(a) - 1) * 100).toFixed(1)} %`);
        log(
          `observability round ${step.round + 1}/${options.rounds} (off ${rateOf(a).toFixed(0)} req/s): ${changes.join(", ")}`,
        );
      }
    }
  };
  const sinkCpu = () => (sink.pid === undefined ? 0 : (sampleProc(sink.pid)?.cpuMs ?? 0));
  const sinkCpuBefore = sinkCpu();
  const loadBefore = loadavg();
  const started = performance.now();
  // The bench process and the mock stay in use after this figure (`pnpm bench`): unpinned when it ends.
  if (plan) for (const pid of [process.pid, options.mockPid, sink.pid]) pin(pid, plan.helpers);
  try {
    await measureRounds();
  } finally {
    if (plan) for (const pid of [process.pid, options.mockPid]) pin(pid, plan.all);
  }
  const elapsedS = (performance.now() - started) / 1000;
  const loadAfter = loadavg();
  const sinkCpuMs = sinkCpu() - sinkCpuBefore;
  // The exporter sends every few seconds: give it time to deliver what the last round made.
  await sleep(6_000);
  const received = await sink.stats();
  return {
    sides: [...sides.values()],
    comparisons: keys
      .filter((k) => k !== "off")
      .map((key) => ({
        key,
        rounds: rounds.map((round) => ({ a: round.get("off") ?? [], b: round.get(key) ?? [] })),
      })),
    bytesReceived: received.bytes,
    exportRequests: received.requests,
    sinkCpuMs,
    loadBefore,
    loadAfter,
    rounds: options.rounds,
    durationS: options.durationS,
    settleMs,
    connections,
    pinning,
    elapsedS,
  };
}

const fixed = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : "–");
const signedFixed = (v: number, digits = 1) => (Number.isFinite(v) && v >= 0 ? "+" : "") + fixed(v, digits);
const percent = (change: number) => `${signedFixed(change * 100)} %`;

/** The reading of one comparison, as the block states it. */
export function describeComparison(c: Comparison): { throughput: string; cpu: string } {
  const t = c.throughput;
  const u = c.cpuUs;
  return {
    throughput: `${percent(t.median)} (${signedFixed(t.lo * 100)} … ${signedFixed(t.hi * 100)})`,
    cpu: `${signedFixed(u.median, 0)} (${signedFixed(u.lo, 0)} … ${signedFixed(u.hi, 0)})`,
  };
}

const VERDICT_TEXT: Record<Verdict, string> = {
  met: "**met**: even the interval's worst end is within 10 %",
  "not met": "**not met**: even the interval's best end is past 10 %",
  undecided:
    "**undecided**: the interval straddles 10 % or covers less than 90 % (too few rounds); more rounds or a quieter machine",
  void: "**void**: the A/A control's interval excludes 0, so instance differences may explain the figure",
};

function describePinning(p: PinPlan | string): string {
  if (typeof p === "string") return `No CPU pinning (${p}).`;
  return (
    `Each gateway instance ran pinned to CPU ${p.measured} (all its threads; taskset), the bench's own ` +
    `process (load generator), mock upstream and OTLP sink to CPU ${p.helpers}; NATS, Postgres and ` +
    "anything else on the machine ran unpinned. A gateway's CPU share below 100 % in the table is " +
    "time it waited for its core (other tenants, NATS, Postgres) or for answers."
  );
}

export function renderObservability(r: ObservabilityResult, command: string, started: Date): string {
  const byKey = new Map(r.comparisons.map((c) => [c.key, compareRounds(c.rounds, CONFIDENCE)]));
  const rows = r.sides.map((s) => {
    const sorted = [...s.latencies].sort((a, b) => a - b);
    const c = byKey.get(s.key);
    const described = c ? describeComparison(c) : undefined;
    return [
      s.label,
      fixed(rateOf(s.measurements), 0),
      described?.throughput ?? "—",
      c ? c.perRound.map((q) => signedFixed(q.change * 100, 0)).join(" / ") : "—",
      fixed(cpuPerRequestOf(s.measurements), 0),
      described?.cpu ?? "—",
      `${fixed(median(s.measurements.map((m) => busyOf([m]) * 100)), 0)} %`,
      fixed(percentile(sorted, 50), 2),
      fixed(percentile(sorted, 99), 2),
      String(s.errors),
    ];
  });
  const tracing = byKey.get("tracing");
  const aa = byKey.get("off2");
  const level = `${fixed((tracing?.throughput.confidence ?? Number.NaN) * 100, 0)} %`;
  const finding =
    tracing && aa
      ? `**Tracing on → OTLP sink, ≤ 10 % throughput at c=${r.connections}:** ` +
        `${VERDICT_TEXT[verdict(tracing.throughput, aa.throughput, TRACING_LIMIT, CONFIDENCE)]}. ` +
        `Median ${describeComparison(tracing).throughput} over ${tracing.throughput.n} rounds ` +
        `(${level} interval in brackets); the A/A control (off again) read ${describeComparison(aa).throughput}.`
      : "";
  const cpu = cpus();
  return [
    "## Seeing every call: tracing and access logs (paired A/B)",
    "",
    `\`${command}\` — ${started.toISOString()}, ${cpu.length} × ${cpu[0]?.model ?? "cpu"}, Linux ${release()},`,
    `load average ${r.loadBefore.map((v) => v.toFixed(2)).join(" ")} before and ${r.loadAfter
      .map((v) => v.toFixed(2))
      .join(" ")} after the measured rounds (the machine is shared).`,
    "",
    `Non-streaming chat through the one-process shape at c=${r.connections}, ${r.sides.length} instances ` +
      `side by side (started after a primer instance that stays idle and is never measured), in ${r.rounds} rounds of ${r.durationS} s measurements: every instance twice a round ` +
      `in mirrored order (A B C D E E D C B A), the order rotated by one each round, a pause of ` +
      `${r.settleMs} ms before each measurement; ${fixed(r.elapsedS, 0)} s in all with the warm-up. ` +
      `${describePinning(r.pinning)} The OTLP sink took ${r.exportRequests} export requests ` +
      `(${(r.bytesReceived / 1e6).toFixed(1)} MB) and used ${fixed(r.sinkCpuMs, 0)} ms of CPU receiving them.`,
    "",
    finding,
    "",
    table(
      [
        "setting",
        "req/s",
        `vs off: median change (${level} interval)`,
        "each round (%)",
        "CPU µs/request",
        "vs off (µs): median (interval)",
        "gateway CPU share",
        "p50 ms",
        "p99 ms",
        "errors",
      ],
      rows,
    ),
    "",
    "A round's change is the setting's throughput over off's in the same round (each pooled over its two",
    "measurements); the median of the rounds and its interval (order statistics: no assumption about the noise's",
    'shape) are the figure. "Off again" is judged exactly like the others: its interval is what two',
    "identical instances differ by in this run, and a run whose A/A interval excludes 0 is void.",
    "CPU µs/request is the instance's process CPU (user + system, all threads) per answered call;",
    "on a shared machine it moves less than throughput, which also depends on the CPU share the gateway got.",
  ].join("\n");
}
