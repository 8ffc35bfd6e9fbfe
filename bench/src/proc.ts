import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { createLogger, Shutdown } from "@gatehouse/kit";

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on every mainstream kernel). */
const CLOCK_TICKS_PER_SECOND = 100;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A benchmark's closers: kit's Shutdown (LIFO, once, under one deadline), registered right after
 * each resource is acquired; a step that fails or times out is logged on stderr, which keeps stdout
 * for the results.
 */
export class Cleanup extends Shutdown {
  constructor(timeoutMs = 60_000) {
    super(createLogger({ level: "warn", service: "bench", destination: process.stderr }), timeoutMs);
  }
}

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** Last few KB of stdout+stderr, for error messages. */
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  args: string[];
  env: Record<string, string | undefined>;
  cwd?: string;
  /** Print the child's stderr as it arrives. */
  echo?: boolean;
}

/** Start `node <args>`; stdin stays open so children that watch it exit with us. */
export function spawnNode(options: SpawnOptions, cleanup: Cleanup): Child {
  const child = spawn(process.execPath, options.args, {
    cwd: options.cwd,
    env: options.env as NodeJS.ProcessEnv,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let tail = "";
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-6_000);
    if (options.echo) process.stderr.write(`[${options.name}] ${d.toString()}`);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.stdin?.on("error", () => {});
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 8_000);
    await gone;
    clearTimeout(timer);
  };
  cleanup.add(`stop ${options.name}`, stop);
  return {
    name: options.name,
    process: child,
    pid: child.pid ?? -1,
    output: () => tail,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    stop,
  };
}

/** Resolve once `url` answers with `accept(status)`; reject with the child's output otherwise. */
export async function waitForHttp(
  child: Child,
  url: string,
  timeoutMs: number,
  accept: (status: number) => boolean = (s) => s < 500,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (child.exited()) {
      throw new Error(`${child.name} exited (code ${child.process.exitCode}): ${lastLines(child.output())}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (accept(res.status)) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(150);
  }
  throw new Error(
    `${child.name} not ready at ${url} after ${timeoutMs} ms (${last}): ${lastLines(child.output())}`,
  );
}

export function lastLines(text: string, n = 6): string {
  return text.trim().split("\n").slice(-n).join(" | ").slice(0, 1_500);
}

export interface ProcSample {
  rssKb: number;
  hwmKb: number;
  cpuMs: number;
}

/** RSS and high-water mark from /proc/<pid>/status, user+system CPU from /proc/<pid>/stat. */
export function sampleProc(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(rest[11]) + Number(rest[12]);
    return { rssKb: kb("VmRSS"), hwmKb: kb("VmHWM"), cpuMs: (ticks * 1_000) / CLOCK_TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/** Samples a set of processes periodically: peak RSS seen, and RSS/CPU at chosen marks. */
export class ProcWatch {
  private readonly peaks = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pids: () => number[],
    intervalMs = 250,
  ) {
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  tick(): void {
    for (const pid of this.pids()) {
      const s = sampleProc(pid);
      if (s) this.peaks.set(pid, Math.max(this.peaks.get(pid) ?? 0, s.rssKb, s.hwmKb));
    }
  }

  peakKb(pid: number): number {
    return this.peaks.get(pid) ?? 0;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** What the scheduler says of one thread (/proc/<pid>/task/<tid>/schedstat and status). */
export interface ThreadSchedSample {
  /** Time on a CPU, ns. */
  runNs: number;
  /** Time runnable but waiting for a CPU, ns. */
  waitNs: number;
  /** Times it gave the CPU up (blocked or slept). */
  voluntarySwitches: number;
  /** Times the scheduler took the CPU from it. */
  involuntarySwitches: number;
}

/**
 * The scheduler's counts for `pid`'s main thread alone — the event loop's, whose CPU per call is what
 * bounds a Node process's throughput when its other threads (V8's GC and compiler workers) can run
 * elsewhere. On a core two instances share, Linux divides time between runnable threads, not
 * processes (both are children of the bench, in one scheduling group), so their main threads get
 * equal time and their ratio of throughputs follows the ratio of main-thread CPU per call, while
 * the process's CPU share also counts its workers (docs/benchmarks.md, "Why a 16 MB process took
 * less of the core"). Undefined when the process or its schedstat is gone.
 */
export function sampleMainThread(pid: number): ThreadSchedSample | undefined {
  try {
    const [runNs, waitNs] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ").map(Number);
    const status = readFileSync(`/proc/${pid}/task/${pid}/status`, "utf8");
    const count = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
    if (runNs === undefined || waitNs === undefined || Number.isNaN(runNs)) return undefined;
    return {
      runNs,
      waitNs,
      voluntarySwitches: count("voluntary_ctxt_switches"),
      involuntarySwitches: count("nonvoluntary_ctxt_switches"),
    };
  } catch {
    return undefined;
  }
}

/**
 * User+system CPU ms of a process's threads, summed by thread name ("main" for the event-loop thread;
 * V8's GC and compiler helpers are "V8 DefaultWorke…", libuv's pool "libuv-worker"). A CPU profile
 * samples the main thread only: what the other threads do shows up here and in `sampleProc`.
 */
export function sampleThreads(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = tid === String(pid) ? "main" : stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ms = ((Number(rest[11]) + Number(rest[12])) * 1_000) / CLOCK_TICKS_PER_SECOND;
      byName.set(name, (byName.get(name) ?? 0) + ms);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return byName;
}
