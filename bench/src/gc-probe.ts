/**
 * Loaded into a Gatehouse process with `--import` (`pnpm bench:routes -- --gc`): keeps running
 * totals of its garbage collections — bytes allocated, bytes promoted to the old generation by
 * young-generation collections, and the collections' time — and writes them every 20 ms to
 * `gcProbeFile(pid)`, which the bench reads around each measurement. Bytes allocated and promoted
 * per request depend on the code, not on how loaded the machine is: at c=64 what a call keeps while
 * it waits for its upstream survives young collections and is copied, often promoted.
 */
import { renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GCProfiler, getHeapStatistics } from "node:v8";

export interface GcTotals {
  allocatedBytes: number;
  promotedBytes: number;
  youngCollections: number;
  youngMs: number;
  oldCollections: number;
  oldMs: number;
}

export function gcProbeFile(pid: number): string {
  return join(tmpdir(), `gatehouse-gc-probe-${pid}.json`);
}

function oldSpaceUsed(stats: { spaceName: string; spaceUsedSize: number }[]): number {
  return stats.find((s) => s.spaceName === "old_space")?.spaceUsedSize ?? 0;
}

function start(): void {
  const file = gcProbeFile(process.pid);
  const totals: GcTotals = {
    allocatedBytes: 0,
    promotedBytes: 0,
    youngCollections: 0,
    youngMs: 0,
    oldCollections: 0,
    oldMs: 0,
  };
  let profiler = new GCProfiler();
  profiler.start();
  let usedAfterLast = getHeapStatistics().used_heap_size;
  setInterval(() => {
    const data = profiler.stop();
    profiler = new GCProfiler();
    profiler.start();
    for (const gc of data?.statistics ?? []) {
      const before = gc.beforeGC.heapStatistics.usedHeapSize;
      totals.allocatedBytes += Math.max(0, before - usedAfterLast);
      usedAfterLast = gc.afterGC.heapStatistics.usedHeapSize;
      // `cost` is in microseconds.
      if (gc.gcType === "Scavenge" || gc.gcType === "MinorMarkSweep") {
        totals.youngCollections++;
        totals.youngMs += gc.cost / 1000;
        totals.promotedBytes += Math.max(
          0,
          oldSpaceUsed(gc.afterGC.heapSpaceStatistics) - oldSpaceUsed(gc.beforeGC.heapSpaceStatistics),
        );
      } else {
        totals.oldCollections++;
        totals.oldMs += gc.cost / 1000;
      }
    }
    // What was allocated since the last collection counts too, or a window would miss up to a
    // young generation's worth.
    const now = {
      ...totals,
      allocatedBytes: totals.allocatedBytes + Math.max(0, getHeapStatistics().used_heap_size - usedAfterLast),
    };
    // Written whole, then renamed: a reader never sees half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify(now));
    renameSync(`${file}.tmp`, file);
  }, 20).unref();
}

if (process.env.GATEHOUSE_GC_PROBE === "1") start();
