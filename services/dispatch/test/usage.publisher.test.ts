import { type BusConnection, connectBus, ensureStream, usageStream } from "@gatehouse/bus";
import { type UsageRecord, usageStreamName } from "@gatehouse/contracts";
import { captureLogger, testNatsUrl, testPrefix, waitFor } from "@gatehouse/testkit";
import { AckPolicy, type JetStreamManager } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsagePublisher } from "../src/invoke/usage.js";
import { usageRecord } from "./usage-record.js";

const { logger } = captureLogger("usage-publisher-test");
const prefix = testPrefix();
let bus: BusConnection;
let jsm: JetStreamManager;

const record = (): UsageRecord => usageRecord({ usage: null, durationMs: 3 });

const messages = async () => (await jsm.streams.info(usageStreamName(prefix))).state.messages;

beforeAll(async () => {
  bus = await connectBus({ url: await testNatsUrl(), name: "usage-publisher-test", logger });
  jsm = await bus.nc.jetstreamManager();
  await ensureStream(jsm, usageStream(prefix));
  // The stream keeps a record while a durable consumer has yet to ack it (interest retention), as
  // dispatch's own consumer always has in a running gateway.
  await jsm.consumers.add(usageStreamName(prefix), {
    durable_name: "dispatch-usage",
    ack_policy: AckPolicy.Explicit,
  });
});

afterAll(async () => {
  await jsm?.streams.delete(usageStreamName(prefix)).catch(() => {});
  await bus?.drain();
});

describe("UsagePublisher batching (USAGE_FLUSH_MS)", () => {
  it("holds records off the bus until the delay passes, then publishes them as one message", async () => {
    const usage = new UsagePublisher(bus.nc, prefix, logger, 200, 400);
    const before = await messages();
    const added = performance.now();
    for (let i = 0; i < 5; i++) usage.add(record());
    await new Promise((r) => setTimeout(r, 150));
    expect(await messages()).toBe(before);
    await waitFor(async () => (await messages()) === before + 1, 3_000);
    expect(performance.now() - added).toBeGreaterThanOrEqual(390);
    await usage.flush();
    expect(await messages()).toBe(before + 1);
  });

  it("publishes at once when a batch is full, whatever the delay", async () => {
    const usage = new UsagePublisher(bus.nc, prefix, logger, 3, 60_000);
    const before = await messages();
    for (let i = 0; i < 3; i++) usage.add(record());
    await waitFor(async () => (await messages()) === before + 1, 2_000);
    usage.add(record());
    await usage.flush();
    expect(await messages()).toBe(before + 2);
  });
});
