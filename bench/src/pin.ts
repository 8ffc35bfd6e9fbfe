import { execFileSync } from "node:child_process";
import { cpus } from "node:os";

/**
 * CPU pinning with taskset(1), for a measurement whose subject is one event loop: the measured
 * process gets the last CPU to itself (as far as this benchmark goes: other tenants of the machine
 * still run wherever the kernel puts them), and everything the benchmark adds — its own process with
 * the load generator, the mock upstream, the OTLP sink — shares the others. `-a` applies to every
 * thread a process has, and threads started later inherit their creator's mask.
 */
export interface PinPlan {
  /** The CPU list (taskset syntax) for the measured processes. */
  measured: string;
  /** The CPU list for the load generator and the helper processes. */
  helpers: string;
  /** Every CPU: what `unpin` restores. */
  all: string;
}

/** A plan on this machine, or undefined (one CPU, or no taskset) with the reason. */
export function pinPlan(cpuCount = cpus().length): PinPlan | string {
  if (cpuCount < 2) return "one CPU: nothing to pin apart";
  try {
    execFileSync("taskset", ["-V"], { stdio: "ignore" });
  } catch {
    return "taskset not found (util-linux)";
  }
  const last = cpuCount - 1;
  return {
    measured: String(last),
    helpers: last === 1 ? "0" : `0-${last - 1}`,
    all: `0-${last}`,
  };
}

/** Every thread of `pid` onto `cpuList`; a process that has already exited is skipped. */
export function pin(pid: number | undefined, cpuList: string): void {
  if (pid === undefined || pid <= 0) return;
  try {
    execFileSync("taskset", ["-a", "-p", "-c", cpuList, String(pid)], { stdio: "ignore" });
  } catch (err) {
    if (alive(pid)) throw err;
  }
}

function alive(pid: number): boolean {
  try {
    return process.kill(pid, 0);
  } catch {
    return false;
  }
}
