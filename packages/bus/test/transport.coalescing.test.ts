import { captureLogger, testNatsUrl, testPrefix } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BusConnection, CoalescingTransport, connectBus, expedite } from "../src/index.js";

const { logger } = captureLogger("transport-test");
const prefix = testPrefix();
let bus: BusConnection;

beforeAll(async () => {
  bus = await connectBus({ url: await testNatsUrl(), name: "transport-test", logger });
});
afterAll(async () => {
  await bus.drain();
});

function transportOf(b: BusConnection): CoalescingTransport {
  return (b.nc as unknown as { protocol: { transport: CoalescingTransport } }).protocol.transport;
}

/** Counts the transport's socket writes until restore(). */
function countWrites(transport: CoalescingTransport) {
  const socket = transport.socket;
  const write = socket.write.bind(socket);
  const counter = {
    writes: 0,
    restore: () => {
      socket.write = write;
    },
  };
  socket.write = ((...args: Parameters<typeof socket.write>) => {
    counter.writes++;
    return write(...args);
  }) as typeof socket.write;
  return counter;
}

describe("the bus transport", () => {
  it("writes what several callbacks of one event-loop turn publish as one socket write, in order", async () => {
    const received: string[] = [];
    const subject = `${prefix}.coalesce`;
    const sub = bus.nc.subscribe(subject, { callback: (_e, m) => received.push(m.string()) });
    await bus.nc.flush();
    const transport = transportOf(bus);
    expect(transport).toBeInstanceOf(CoalescingTransport);
    const counter = countWrites(transport);
    try {
      // Each await is a microtask checkpoint: the client hands the transport one frame per publish.
      for (let i = 0; i < 5; i++) {
        bus.nc.publish(subject, `m${i}`);
        await Promise.resolve();
        await Promise.resolve();
      }
      expect(transport.pendingFrames).toBe(5);
      expect(counter.writes).toBe(0);
      await new Promise((r) => setImmediate(r));
      expect(counter.writes).toBe(1);
    } finally {
      counter.restore();
    }
    await bus.nc.flush();
    sub.unsubscribe();
    expect(received).toEqual(["m0", "m1", "m2", "m3", "m4"]);
  });

  it("writes at once what follows expedite(), with what it held before it", async () => {
    const received: string[] = [];
    const subject = `${prefix}.expedite`;
    const sub = bus.nc.subscribe(subject, { callback: (_e, m) => received.push(m.string()) });
    await bus.nc.flush();
    const transport = transportOf(bus);
    const counter = countWrites(transport);
    try {
      bus.nc.publish(subject, "held");
      await Promise.resolve();
      expect(transport.pendingFrames).toBe(1);
      bus.nc.publish(subject, "first chunk");
      expedite(bus.nc);
      await Promise.resolve();
      expect(counter.writes).toBe(1);
      expect(transport.pendingFrames).toBe(0);
      // Only the next frame: what follows is coalesced again.
      bus.nc.publish(subject, "later");
      await Promise.resolve();
      expect(transport.pendingFrames).toBe(1);
      await new Promise((r) => setImmediate(r));
      expect(counter.writes).toBe(2);
    } finally {
      counter.restore();
    }
    await bus.nc.flush();
    sub.unsubscribe();
    expect(received).toEqual(["held", "first chunk", "later"]);
  });

  it("sends what it holds before closing", async () => {
    const other = await connectBus({ url: await testNatsUrl(), name: "transport-close", logger });
    const received: string[] = [];
    const subject = `${prefix}.close`;
    const sub = bus.nc.subscribe(subject, { callback: (_e, m) => received.push(m.string()) });
    await bus.nc.flush();
    other.nc.publish(subject, "last words");
    await other.drain();
    await bus.nc.flush();
    sub.unsubscribe();
    expect(received).toEqual(["last words"]);
  });
});
