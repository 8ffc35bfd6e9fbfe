import { encodeJson } from "@gatehouse/bus";
import { usageSubject } from "@gatehouse/contracts";
import { captureLogger, usageRecord, waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usageStoreForFile } from "./usage-db.js";

// A store that throws on the consumer's 50 ms timer (here its metrics callback, before the batch is
// stored) left a rejected promise no one handled — under Node's default, the end of dispatch — and
// every later store of the pull skipped, their messages held until the 30 s ack wait. It must be
// logged and counted, and the batch handed back to JetStream, redelivered after retryDelayMs.
const logs = captureLogger("usage-store-throws");
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let throwOnce = true;
const counted: Record<string, number> = {};
beforeAll(() => {
  process.on("unhandledRejection", onUnhandled);
});
afterAll(() => {
  process.off("unhandledRejection", onUnhandled);
});
const fx = usageStoreForFile("usage-store-throws", {
  logger: logs.logger,
  retryDelayMs: 100,
  onStored: (stage, n) => {
    if (stage === "rejected" && throwOnce) {
      throwOnce = false;
      throw new Error("metrics exploded");
    }
    counted[stage] = (counted[stage] ?? 0) + n;
  },
});

describe("a usage store that throws on the timer's flush", () => {
  it("is logged and counted, leaves no unhandled rejection, and its batch is redelivered and stored", async () => {
    const good = usageRecord();
    // A record that fails its schema makes the store report it (the callback that throws here).
    const bad = { ...usageRecord(), usage: { promptTokens: -1, completionTokens: 0, totalTokens: 0 } };
    await fx.bus.nc.jetstream().publish(usageSubject(fx.prefix), encodeJson({ records: [bad, good] }));

    // Redelivered after retryDelayMs (100 ms), not the 30 s ack wait.
    await waitFor(async () => (await fx.storedIds()).includes(good.id), 10_000, 50);
    expect(logs.text()).toContain("storing usage records failed; JetStream will redeliver");
    expect(counted.store_failed).toBe(2);
    expect(counted.stored).toBe(1);
    await waitFor(async () => (await fx.consumer.unstored()) === 0, 10_000);
    // Let Node report a rejection no one handled, if there was one.
    await new Promise((r) => setTimeout(r, 200));
    expect(unhandled).toEqual([]);
  }, 30_000);
});
