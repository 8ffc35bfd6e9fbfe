import { cpus, loadavg, release } from "node:os";
import { join } from "node:path";
import { listOption } from "./cli.js";
import {
  gatehouseTarget,
  provision,
  REPO_ROOT,
  type RunningGatehouse,
  startGatehouse,
  verifyAndWarm,
} from "./gatehouse.js";
import { type LoadSample, runAutocannon } from "./load.js";
import {
  busyOf,
  type Comparison,
  compareWindows,
  cpuPerRequestOf,
  generationRounds,
  type Measurement,
  pairSchedule,
  rateOf,
  startOrder,
  type Verdict,
  verdict,
  type Window,
} from "./paired.js";
import { type PinPlan, pin, pinPlan } from "./pin.js";
import { type Cleanup, freePort, sampleProc, sleep, spawnNode, waitForHttp } from "./proc.js";
import { count, table } from "./report.js";
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
 * - nothing sampled (a diagnostic, `--settings=unsampled`, no goal): the exporter configured and
 *   `OTEL_TRACES_SAMPLER=always_off`, what tracing costs before any span is recorded;
 * - off again: a second instance with tracing off: the A/A control, judged exactly as the others are.
 *   What two identical instances differ by (heap and code layout, what start order is left, and this
 *   machine's noise) is the floor under any other difference.
 * Each set of fresh instances (generation) starts them in an order rotated by one (paired.ts
 * `startOrder`), so that no setting is always started first or last.
 * Non-streaming chat at c=64, two instances at a time on one core, many short rounds split among
 * generations (paired.ts); each setting's figure is the median over generations of its change from off
 * (each generation's the median of its rounds), with a distribution-free interval over generations.
 * By default the measured instances run pinned to the last CPU and the load generator, mock upstream,
 * sink and idle instances to the others (pin.ts), so the bench's own processes do not take turns on
 * the gateway's core.
 */
export interface ObservabilityResult {
  sides: Side[];
  comparisons: { key: SideKey; comparison: Comparison }[];
  bytesReceived: number;
  exportRequests: number;
  /** CPU the OTLP sink's process used over the measured rounds (ms): what receiving the spans cost. */
  sinkCpuMs: number;
  loadBefore: number[];
  loadAfter: number[];
  rounds: number;
  /** Windows of two instances at once per round. */
  windowsPerRound: number;
  /** Sets of fresh instances the rounds were split among (1: the same instances throughout). */
  generations: number;
  /**
   * How the core was split in each window, in points of a core: the gap between the two instances'
   * CPU shares and their sum (near 100 when nothing else wanted the core).
   */
  shares: { gap: number[]; sum: number[] };
  durationS: number;
  settleMs: number;
  connections: number;
  /** The pinning used, or why there was none. */
  pinning: PinPlan | string;
  /** Which NATS server the instances used. */
  natsNote: string;
  /** Wall-clock seconds of the measured rounds. */
  elapsedS: number;
}

/** The settings besides off (and off again, always there) a run can choose (`--settings=`). */
export const SETTINGS = ["tracing", "sampled", "unsampled", "tracing-4mb", "logs"] as const;
export type Setting = (typeof SETTINGS)[number];
/** What `--all-settings` runs; without either option, tracing alone. */
const ALL_SETTINGS: readonly Setting[] = ["tracing", "sampled", "tracing-4mb", "logs"];
/** Settings that answer a question about the cost rather than being held to a goal, and what each shows. */
const DIAGNOSTIC: ReadonlyMap<SideKey, string> = new Map<SideKey, string>([
  [
    "unsampled",
    "nothing sampled (the exporter configured, `OTEL_TRACES_SAMPLER=always_off`) shows what tracing costs " +
      "per call before any span is recorded",
  ],
  [
    "tracing-4mb",
    "tracing on at 4 MB (`GATEHOUSE_SEMI_SPACE_MB=4`: the young generation of an untraced process, where a " +
      "traced one starts with 16 MB) shows what tracing costs with the memory settings held equal",
  ],
]);

type SideKey = "off" | Setting | "off2";

/** The settings a command line asks for: `--settings=a,b`, `--all-settings`, or tracing alone. */
export function chosenSettings(argv: readonly string[] = process.argv): Setting[] {
  const all = argv.includes("--all-settings");
  if (all && argv.some((a) => a.startsWith("--settings="))) {
    throw new Error("--settings or --all-settings, not both");
  }
  return listOption("settings", SETTINGS, all ? ALL_SETTINGS : ["tracing"], argv);
}

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
  /** What NATS is (for the block): the system's, or the bench's own pinned with the helpers. */
  natsNote?: string;
  /** A NATS server the bench started, pinned with the helpers when known. */
  natsPid?: number;
  mockUrl: string;
  /** The mock upstream's process, pinned with the helpers when known. */
  mockPid?: number;
  cleanup: Cleanup;
  /** Rounds, each every window of pairSchedule once, in all (split among the generations). */
  rounds: number;
  /** Seconds per measurement. */
  durationS: number;
  warmupS: number;
  /** Pin the gateway to a CPU of its own (default: when taskset and 2+ CPUs are there). */
  pin?: boolean;
  /**
   * The rounds split among this many sets of fresh instances (each started, warmed and measured in
   * turn, the previous set stopped): the figure's interval is over these (paired.ts), so one
   * process's luck (code and heap layout, JIT, start position) is in it, not a fixed bias of the
   * run. Below 5 no interval reaches 90 % and the verdict is undecided. Default 1.
   */
  generations?: number;
  /**
   * The settings measured besides off and off again (default tracing alone; `chosenSettings`): each
   * one more instance and longer rounds.
   */
  settings?: readonly Setting[];
  /** Pause before each measurement, so the previous instance's trailing work (an export, a usage flush) ends first. */
  settleMs?: number;
  echo: boolean;
  log: (line: string) => void;
}): Promise<ObservabilityResult> {
  const { cleanup, log } = options;
  const connections = 64;
  const settleMs = options.settleMs ?? 500;
  const sink = await startOtlpSink(cleanup);
  const chosen = options.settings ?? ["tracing"];
  const all: { key: SideKey; label: string; env: Record<string, string> }[] = [
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
      key: "unsampled",
      label: "tracing on → sink, nothing sampled: always_off",
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: "always_off" },
    },
    {
      key: "tracing-4mb",
      label: "tracing on → sink, at the untraced young generation (GATEHOUSE_SEMI_SPACE_MB=4)",
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, GATEHOUSE_SEMI_SPACE_MB: "4" },
    },
    {
      key: "logs",
      label: "access log on (info, JSON to a pipe)",
      env: { LOG_LEVEL: "info", LOG_FORMAT: "json" },
    },
    { key: "off2", label: "tracing off again (a second instance: A/A)", env: {} },
  ];
  const settings = all.filter((s) => s.key === "off" || s.key === "off2" || chosen.includes(s.key));
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
    sides.set(s.key, { key: s.key, label: s.label, measurements: [], errors: 0, latencies: [] });
  }
  const running: RunningGatehouse[] = [];
  const keys = settings.map((x) => x.key);
  /** A fresh instance of every setting (the previous generation's stopped first), in a rotated order. */
  const startInstances = async (generation: number) => {
    for (const gh of running.splice(0)) for (const proc of gh.processes) await proc.child.stop();
    for (const key of startOrder(keys, generation)) {
      const s = settings.find((x) => x.key === key) as (typeof settings)[number];
      log(`observability: starting gatehouse-one (${s.label}), generation ${generation + 1} …`);
      const gh = await startGatehouse({
        shape: "one",
        natsUrl: options.natsUrl,
        cleanup,
        echo: options.echo,
        env: s.env,
      });
      running.push(gh);
      const p = await provision(gh, options.mockUrl);
      await verifyAndWarm(gh, p);
      const target = gatehouseTarget(gh, p);
      if (plan) for (const proc of target.processes) pin(proc.pid, plan.measured);
      targets.set(s.key, target);
    }
  };
  const generations = Math.max(1, Math.min(options.generations ?? 1, options.rounds));
  await startInstances(0);
  const cpuOf = (target: Target) =>
    target.processes.reduce((sum, proc) => sum + (sampleProc(proc.pid)?.cpuMs ?? 0), 0);
  const record = (key: SideKey, r: LoadSample, cpuMs: number): Measurement => {
    const side = sides.get(key) as Side;
    const m = { requests: r.requests, seconds: r.durationS, cpuMs };
    side.measurements.push(m);
    side.errors += r.non2xx + r.errors + r.timeouts;
    for (const v of r.latenciesMs) side.latencies.push(v);
    return m;
  };
  // Only the instances being measured on the measured core; every other one
  // (and the primer) waits on the helpers' core, so its timers, pings and trailing work do not land
  // in another instance's measurement.
  const gatewayPids = (key: SideKey) => (targets.get(key) as Target).processes.map((p) => p.pid);
  const primerPids = primer.processes.map((p) => p.pid);
  const place = (active: readonly SideKey[]) => {
    if (!plan) return;
    for (const k of keys)
      for (const pid of gatewayPids(k)) pin(pid, active.includes(k) ? plan.measured : plan.helpers);
    for (const pid of primerPids) pin(pid, plan.helpers);
  };
  const windows: Window<SideKey>[] = [];
  /** A setting against both tracing-off instances; off again (the A/A control) against off alone. */
  const compare = (key: SideKey, among: readonly Window<SideKey>[]): Comparison =>
    compareWindows(among, key, key === "off2" ? ["off"] : ["off", "off2"], CONFIDENCE);
  const warmUp = async (generation: number) => {
    for (const key of startOrder(keys, generation)) {
      const s = settings.find((x) => x.key === key) as (typeof settings)[number];
      log(`observability: warm-up ${s.label} (${options.warmupS}s, c=${connections})`);
      place([s.key]);
      await runAutocannon(targets.get(s.key) as Target, connections, options.warmupS);
    }
  };
  const measureGeneration = async (generation: number, firstRound: number, count: number) => {
    const others = keys.filter((k) => k !== "off" && k !== "off2");
    for (const planned of pairSchedule<SideKey>(["off", "off2"], others, firstRound + count)) {
      if (planned.round < firstRound) continue;
      const step = planned;
      const ta = targets.get(step.a) as Target;
      const tb = targets.get(step.b) as Target;
      place([step.a, step.b]);
      await sleep(settleMs);
      const before = [cpuOf(ta), cpuOf(tb)] as const;
      const [ra, rb] = await Promise.all([
        runAutocannon(ta, connections, options.durationS),
        runAutocannon(tb, connections, options.durationS),
      ]);
      const ma = record(step.a, ra, cpuOf(ta) - before[0]);
      const mb = record(step.b, rb, cpuOf(tb) - before[1]);
      windows.push({ generation, round: step.round, a: step.a, b: step.b, ma, mb });
      const us = (m: Measurement) => cpuPerRequestOf([m]).toFixed(0);
      const share = (m: Measurement) => (busyOf([m]) * 100).toFixed(0);
      log(
        `observability round ${step.round + 1}/${options.rounds} ${step.a}‖${step.b}: ` +
          `${rateOf([ma]).toFixed(0)} / ${rateOf([mb]).toFixed(0)} req/s ` +
          `(${step.b} ${signedFixed((rateOf([mb]) / rateOf([ma]) - 1) * 100)} %), ` +
          `CPU share ${share(ma)} / ${share(mb)} %, CPU ${us(ma)} / ${us(mb)} µs/request`,
      );
    }
  };
  const sinkCpu = () => (sink.pid === undefined ? 0 : (sampleProc(sink.pid)?.cpuMs ?? 0));
  const sinkCpuBefore = sinkCpu();
  const loadBefore = loadavg();
  const started = performance.now();
  // The bench process and the mock stay in use after this figure (`pnpm bench`): unpinned when it ends.
  if (plan)
    for (const pid of [process.pid, options.mockPid, sink.pid, options.natsPid]) pin(pid, plan.helpers);
  try {
    for (const [g, [first, count]] of generationRounds(options.rounds, generations).entries()) {
      if (g > 0) await startInstances(g);
      await warmUp(g);
      await measureGeneration(g, first, count);
      const mine = windows.filter((w) => w.generation === g);
      const figures = keys
        .filter((k) => k !== "off")
        .map((k) => `${k} ${percent(compare(k, mine).throughput.median)}`);
      log(
        `observability generation ${g + 1}/${generations} (median of its ${count} rounds): ${figures.join(", ")}`,
      );
    }
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
    comparisons: keys.filter((k) => k !== "off").map((key) => ({ key, comparison: compare(key, windows) })),
    bytesReceived: received.bytes,
    exportRequests: received.requests,
    sinkCpuMs,
    loadBefore,
    loadAfter,
    rounds: options.rounds,
    generations,
    windowsPerRound: 2 * (keys.length - 2) + 1,
    shares: {
      gap: windows.map((w) => Math.abs(busyOf([w.ma]) - busyOf([w.mb])) * 100),
      sum: windows.map((w) => (busyOf([w.ma]) + busyOf([w.mb])) * 100),
    },
    durationS: options.durationS,
    settleMs,
    connections,
    pinning,
    natsNote: options.natsNote ?? `${options.natsUrl}, not pinned`,
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
    "**undecided**: the interval straddles 10 % or covers less than 90 % (fewer than 5 generations); more generations or a quieter machine",
  void: "**void**: the A/A control's interval excludes 0, so a bias every generation shared may explain the figure",
};

function describePinning(r: ObservabilityResult): string {
  const p = r.pinning;
  if (typeof p === "string") return `No CPU pinning (${p}).`;
  return (
    `The two instances of a window ran pinned to CPU ${p.measured} (all their threads; taskset), every ` +
    `other instance and the primer moved to CPU ${p.helpers} until their turn, with the bench's own ` +
    `process (load generator), mock upstream and OTLP sink; NATS (${r.natsNote}), Postgres and anything else on the ` +
    "machine wherever the kernel put them. Linux splits a core between threads: the two event-loop " +
    "threads get about equal time, and each process's V8 worker threads (garbage collection, compiling) " +
    "run besides, so the CPU share column (all threads) differs by what the workers did; one that waits " +
    "for answers leaves the other more."
  );
}

/** "8 generations × 3 rounds", or "10 rounds over 3 generations (3–4 each)" when they do not divide evenly. */
export function describeSplit(rounds: number, generations: number): string {
  const sizes = generationRounds(rounds, generations).map(([, n]) => n);
  const least = Math.min(...sizes);
  const most = Math.max(...sizes);
  return least === most
    ? `${count(sizes.length, "generation")} × ${count(least, "round")}`
    : `${count(rounds, "round")} over ${count(sizes.length, "generation")} (${least}–${most} each)`;
}

function describeDesign(r: ObservabilityResult): { title: string; how: string; reading: string[] } {
  return {
    title: "## Seeing every call: tracing and access logs (simultaneous A/B)",
    how:
      `Non-streaming chat through the one-process shape, ${r.sides.length} instances in each generation (started after a ` +
      "primer instance that stays idle and is never measured), measured two at a time: both loaded at " +
      `once, each at c=${r.connections} from the same load generator, on the same core, for ${r.durationS} s. ` +
      `${describeSplit(r.rounds, r.generations)} of ${count(r.windowsPerRound, "such window")}: every setting ` +
      "with each of the two tracing-off instances, then the two tracing-off instances together (the A/A " +
      "control), the order rotated each round. A generation is a set of fresh instances, started, warmed up " +
      "and measured in turn, the previous one stopped; " +
      (r.generations > 1
        ? "the order a generation's instances are started in is rotated by one each generation, so that none is " +
          "always started first or last; "
        : "the instances started in the order of the table (off again last); ") +
      `a pause of ${r.settleMs} ms before each measurement; ${fixed(r.elapsedS, 0)} s in all with the warm-ups. ` +
      `${describePinning(r)} The OTLP sink took ${r.exportRequests} export requests ` +
      `(${(r.bytesReceived / 1e6).toFixed(1)} MB) and used ${fixed(r.sinkCpuMs, 0)} ms of CPU receiving them.` +
      (r.shares.gap.length > 0
        ? ` In a window the two instances' CPU shares differed by ${fixed(median(r.shares.gap), 0)} points ` +
          `of the core (median; largest ${fixed(Math.max(...r.shares.gap), 0)}), and together they had ` +
          `${fixed(median(r.shares.sum), 0)} % of it (median).`
        : ""),
    reading: [
      '"Throughput at c=64" here is each instance\'s calls per second while it shares one core with the',
      "instance it is compared with, both at c=64: with both busy, their event-loop threads get equal time",
      "on the core, so the ratio of their throughputs is the inverse ratio of their event loops' CPU per",
      "call (the main thread's; V8's worker threads take their turns besides), taken in the same seconds:",
      "whatever the host did to the core's speed then hit both. A round's change is the setting's",
      "throughput over each tracing-off instance's in their shared windows (the geometric mean of the",
      "two ratios; off again against off alone); a generation's is the median of its rounds. The figure",
      "is the median of the generations, and its interval the order statistics over them (no assumption",
      "about the noise's shape; only that generations, fresh processes, are independent of each other):",
      "it covers what differs between sets of fresh processes (heap and code layout, start position,",
      "where the host put them), which the rounds of one generation share, as well as the rounds' noise.",
      'Fewer than 5 generations give no 90 % interval, and no verdict. "Off again" is judged exactly',
      "like the others: a run whose A/A interval excludes 0 (a bias every generation shared) is void.",
      "req/s, CPU share and latencies are those of shared windows, not a lone instance's. CPU µs/request",
      "is the instance's process CPU (user + system, all threads) per answered call.",
    ],
  };
}

/** The same data read the way it was before poolbench: the rounds as independent samples. */
function describeRoundsAlone(c: Comparison): string {
  const t = c.roundsAlone.throughput;
  return `${signedFixed(t.lo * 100)} … ${signedFixed(t.hi * 100)}`;
}

export function renderObservability(r: ObservabilityResult, command: string, started: Date): string {
  const byKey = new Map(r.comparisons.map((c) => [c.key, c.comparison]));
  const rows = r.sides.map((s) => {
    const sorted = [...s.latencies].sort((a, b) => a - b);
    const c = byKey.get(s.key);
    const described = c ? describeComparison(c) : undefined;
    return [
      DIAGNOSTIC.has(s.key) ? `${s.label} (diagnostic, not a goal)` : s.label,
      fixed(rateOf(s.measurements), 0),
      described?.throughput ?? "—",
      c ? c.throughput.clusterMedians.map((v) => signedFixed(v * 100)).join(" / ") : "—",
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
        `Median ${describeComparison(tracing).throughput} over ${count(tracing.throughput.n, "generation")} ` +
        `(${level} interval over generations in brackets); the A/A control (off again) read ` +
        `${describeComparison(aa).throughput}. Taken as ${count(tracing.roundsAlone.throughput.n, "independent round")} ` +
        "(the reading before poolbench, which leaves out what differs between generations) the intervals " +
        `would be ${describeRoundsAlone(tracing)} and ${describeRoundsAlone(aa)} (A/A).`
      : // A run of other settings only (`--settings=`) still replaces the block that held the last verdict.
        `**No verdict on tracing's goal (≤ 10 % throughput at c=${r.connections}):** this run did not measure ` +
        "tracing on (`--settings` without `tracing`)" +
        (aa ? `; the A/A control (off again) read ${describeComparison(aa).throughput}.` : ".");
  const cpu = cpus();
  const design = describeDesign(r);
  return [
    design.title,
    "",
    `\`${command}\` — ${started.toISOString()}, ${cpu.length} × ${cpu[0]?.model ?? "cpu"}, Linux ${release()},`,
    `load average ${r.loadBefore.map((v) => v.toFixed(2)).join(" ")} before and ${r.loadAfter
      .map((v) => v.toFixed(2))
      .join(" ")} after the measured rounds (the machine is shared).`,
    "",
    design.how,
    "",
    finding,
    "",
    table(
      [
        "setting",
        "req/s",
        `vs off: median change over generations (${level} interval)`,
        "each generation (%)",
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
    ...design.reading,
    ...r.sides.flatMap((s) => {
      const shows = DIAGNOSTIC.get(s.key);
      return shows === undefined ? [] : [`Diagnostic, held to no goal: ${shows}.`];
    }),
  ].join("\n");
}
