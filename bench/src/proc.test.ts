import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { sampleMainThread } from "./proc.js";

/** µs of this process's CPU (all threads) since `from`. */
const cpuSince = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return d.user + d.system;
};

describe("the main thread's scheduler counts", () => {
  it("counts the CPU the main thread uses", () => {
    const before = sampleMainThread(process.pid);
    const cpu = process.cpuUsage();
    while (cpuSince(cpu) < 60_000) {
      // spin on this thread
    }
    const after = sampleMainThread(process.pid);
    expect(before).toBeDefined();
    expect(after).toBeDefined();
    if (!before || !after) return;
    expect(after.runNs - before.runNs).toBeGreaterThanOrEqual(40e6);
    expect(after.waitNs).toBeGreaterThanOrEqual(before.waitNs);
    expect(after.voluntarySwitches + after.involuntarySwitches).toBeGreaterThanOrEqual(
      before.voluntarySwitches + before.involuntarySwitches,
    );
  });

  it("leaves out what the process's other threads use", async () => {
    const before = sampleMainThread(process.pid);
    const cpu = process.cpuUsage();
    // Another thread of this process spins for 150 ms of CPU while the main thread waits for it.
    const worker = new Worker(
      "const from = process.cpuUsage(); for (;;) { const d = process.cpuUsage(from); if (d.user + d.system >= 150000) break; }",
      { eval: true },
    );
    await new Promise((resolve, reject) => worker.once("exit", resolve).once("error", reject));
    const after = sampleMainThread(process.pid);
    if (!before || !after) throw new Error("no schedstat");
    expect(cpuSince(cpu)).toBeGreaterThanOrEqual(150_000);
    expect(after.runNs - before.runNs).toBeLessThan(100e6);
  });

  it("is undefined for a process that is not there", () => {
    expect(sampleMainThread(2 ** 22 + 1)).toBeUndefined();
  });
});
