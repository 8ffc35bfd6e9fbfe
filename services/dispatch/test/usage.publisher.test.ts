import { type BusConnection, connectBus, ensureStream, usageStream } from "@gatehouse/bus";
import { type UsageRecord, usageStreamName } from "@gatehouse/contracts";
import { captureLogger, testNatsUrl, testPrefix, usageRecord, waitFor } from "@gatehouse/testkit";
import { AckPolicy, type JetStreamManager } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsagePublisher } from "../src/invoke/usage.js";

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

describe("UsagePublisher when JetStream refuses, and at a stop", () => {
  it("keeps a batch JetStream refused and publishes it once the stream is back", async () => {
    // No stream on this prefix yet: every publish is refused, as while JetStream is out.
    const other = testPrefix();
    const usage = new UsagePublisher(bus.nc, other, logger, 200, 50);
    for (let i = 0; i < 3; i++) usage.add(record());
    await usage.flush();
    expect(usage.pending).toBe(3);
    await ensureStream(jsm, usageStream(other));
    await jsm.consumers.add(usageStreamName(other), {
      durable_name: "dispatch-usage",
      ack_policy: AckPolicy.Explicit,
    });
    try {
      await waitFor(async () => usage.pending === 0, 5_000);
      const info = await jsm.streams.info(usageStreamName(other));
      expect(info.state.messages).toBeGreaterThanOrEqual(1);
    } finally {
      await jsm.streams.delete(usageStreamName(other)).catch(() => {});
    }
  });

  it("holds at most maxHeld records while JetStream refuses them", async () => {
    const usage = new UsagePublisher(bus.nc, testPrefix(), logger, 5, 60_000, { maxHeld: 12 });
    for (let i = 0; i < 40; i++) usage.add(record());
    await usage.flush();
    expect(usage.pending).toBeLessThanOrEqual(12);
    expect(usage.pending).toBeGreaterThan(0);
  });

  it("while JetStream refuses, sends one batch per try, not every batch held", async () => {
    const tries: number[] = [];
    const usage = new UsagePublisher(bus.nc, testPrefix(), logger, 5, 60_000, {
      onPublished: (stage, count) => {
        if (stage === "publish_failed") tries.push(count);
      },
    });
    usage.add(record());
    await usage.flush();
    expect(tries).toEqual([1]);
    for (let i = 0; i < 30; i++) usage.add(record());
    await usage.flush();
    expect(usage.pending).toBe(31);
    // 31 held: the next try sends one batch of 5 as a probe, not all seven.
    const before = tries.length;
    await usage.flush();
    expect(tries.slice(before)).toEqual([5]);
    expect(usage.pending).toBe(31);
  });

  it("while JetStream refuses, a call's record does not set off a try of its own (a full batch held)", async () => {
    let tries = 0;
    const usage = new UsagePublisher(bus.nc, testPrefix(), logger, 5, 60_000, {
      onPublished: (stage) => {
        if (stage === "publish_failed") tries++;
      },
    });
    for (let i = 0; i < 5; i++) usage.add(record());
    await usage.flush();
    expect(tries).toBe(1);
    // Calls keep ending while JetStream is out: their records wait for the next try (the timer's),
    // rather than each sending a held batch that JetStream refuses again (work and a log line per call).
    for (let i = 0; i < 30; i++) {
      usage.add(record());
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(tries).toBe(1);
    expect(usage.pending).toBe(35);
  });

  it("a stop waits for calls still running and publishes their records at once", async () => {
    const usage = new UsagePublisher(bus.nc, prefix, logger, 200, 60_000);
    const before = await messages();
    usage.hold();
    const stopped = usage.close(5_000);
    await new Promise((r) => setTimeout(r, 100));
    // The call ends after the stop began: its record still goes out, without waiting out the delay.
    usage.add(record());
    usage.release();
    await stopped;
    expect(usage.pending).toBe(0);
    expect(await messages()).toBe(before + 1);
  });

  it("a stop does not wait past its bound for a call that never ends", async () => {
    const usage = new UsagePublisher(bus.nc, prefix, logger, 200, 60_000);
    const before = await messages();
    usage.add(record());
    usage.hold();
    await usage.close(100);
    expect(await messages()).toBe(before + 1);
  });
});
