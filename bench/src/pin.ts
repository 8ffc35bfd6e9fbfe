import { execFileSync } from "node:child_process";

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
  /** Every allowed CPU: what the bench process and the mock get back when the measurement ends. */
  all: string;
}

/** The CPUs of a taskset list ("0-3,6"), in order. */
export function parseCpuList(list: string): number[] {
  return list
    .trim()
    .split(",")
    .filter((part) => part !== "")
    .flatMap((part) => {
      const [from, to] = part.includes("-") ? part.split("-").map(Number) : [Number(part), Number(part)];
      if (
        from === undefined ||
        to === undefined ||
        !Number.isInteger(from) ||
        !Number.isInteger(to) ||
        to < from
      ) {
        throw new Error(`not a CPU list: ${list}`);
      }
      return Array.from({ length: to - from + 1 }, (_v, i) => from + i);
    });
}

/**
 * A plan from the CPUs this process may run on (`allowed`, a taskset list; by default asked of
 * taskset, so a container's cpuset is respected), or the reason there is none.
 */
export function pinPlan(allowed?: string): PinPlan | string {
  let list = allowed;
  if (list === undefined) {
    try {
      const out = execFileSync("taskset", ["-p", "-c", String(process.pid)], { encoding: "utf8" });
      list = out.slice(out.lastIndexOf(":") + 1);
    } catch {
      return "taskset not found (util-linux)";
    }
  }
  const cpus = parseCpuList(list);
  const last = cpus.at(-1);
  if (last === undefined || cpus.length < 2) return "one CPU: nothing to pin apart";
  return { measured: String(last), helpers: cpus.slice(0, -1).join(","), all: cpus.join(",") };
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
