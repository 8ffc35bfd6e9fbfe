import { type BusConnection, connectBus } from "@gatehouse/bus";
import { usageStreamName } from "@gatehouse/contracts";
import type { Db } from "@gatehouse/db";
import { captureLogger, testNatsUrl, testPrefix, usageRecord, waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsagePublisher } from "../src/invoke/usage.js";
import { startUsageConsumer, type UsageConsumer } from "../src/usage/consumer.js";

// A database that answers slowly (a lock held on the totals, a connection silently gone) must not
// make the consumer take in message after message behind the slow store: held in memory,
// redelivered after the ack wait and taken in again, they grew without bound.
const { logger } = captureLogger("usage-one-store");
const prefix = testPrefix();
let bus: BusConnection;
let consumer: UsageConsumer;
let usage: UsagePublisher;
let open: () => void = () => {};
let gate = new Promise<void>((resolve) => {
  open = resolve;
});
let stores = 0;

beforeAll(async () => {
  bus = await connectBus({ url: await testNatsUrl(), name: "usage-one-store", logger });
  // Every store waits for the gate: what a database that does not answer looks like from here.
  const execute = () => {
    stores++;
    return gate;
  };
  // biome-ignore lint/suspicious/noExplicitAny: only execute is used by the consumer.
  const db = { execute } as unknown as Db<any>;
  consumer = await startUsageConsumer({ nc: bus.nc, prefix, db, logger });
  usage = new UsagePublisher(bus.nc, prefix, logger, 1, 10);
});

afterAll(async () => {
  open();
  await consumer?.stop();
  const jsm = await bus?.nc.jetstreamManager();
  await jsm?.streams.delete(usageStreamName(prefix)).catch(() => {});
  await bus?.drain();
});

describe("the usage consumer behind a slow database", () => {
  it("runs one store at a time and queues none behind it: what arrives meanwhile is stored together", async () => {
    usage.add(usageRecord());
    await waitFor(() => stores === 1, 5_000);
    // The pull that brought it has ended (a pull holds a batch or what comes within a second; what
    // one holds is all this process takes in). Then eight more messages, each after the consumer's
    // 50 ms batching window, while the first store hangs.
    await new Promise((r) => setTimeout(r, 1_300));
    for (let i = 0; i < 8; i++) {
      usage.add(usageRecord());
      await usage.flush();
      await new Promise((r) => setTimeout(r, 120));
    }
    expect(stores).toBe(1);
    // They wait in JetStream, not in this process: only the message being stored was taken.
    const jsm = await bus.nc.jetstreamManager();
    const info = await jsm.consumers.info(usageStreamName(prefix), "dispatch-usage");
    expect([info.num_ack_pending, info.num_pending]).toEqual([1, 8]);
    open();
    gate = Promise.resolve();
    await waitFor(async () => (await consumer.unstored()) === 0, 10_000);
    // The hung store, then the eight that waited, as one batch (not eight stores queued behind it).
    expect(stores).toBe(2);
  });
});
