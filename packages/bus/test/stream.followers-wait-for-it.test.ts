import { accessEventStreamName } from "@gatehouse/contracts";
import { captureLogger, testNatsUrl, testPrefix } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  accessEventStream,
  awaitStream,
  type BusConnection,
  connectBus,
  ensureStream,
} from "../src/index.js";

const { logger } = captureLogger("stream-wait-test");
let bus: BusConnection;
const prefixes: string[] = [];

beforeAll(async () => {
  bus = await connectBus({ url: await testNatsUrl(), name: "stream-wait-test", logger });
});
afterAll(async () => {
  const jsm = await bus.nc.jetstreamManager();
  for (const p of prefixes) await jsm.streams.delete(accessEventStreamName(p)).catch(() => {});
  await bus.drain();
});

describe("a follower waits for the access-event stream and never creates it", () => {
  it("returns once a service has created it", async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const jsm = await bus.nc.jetstreamManager();
    let waited = false;
    const waiting = awaitStream(jsm, accessEventStreamName(prefix), {
      createdBy: "auth, acl and dispatch",
      timeoutMs: 20_000,
      pollMs: 50,
      onWait: () => {
        waited = true;
      },
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(waited).toBe(true);
    await expect(jsm.streams.info(accessEventStreamName(prefix))).rejects.toBeDefined();
    await ensureStream(jsm, accessEventStream(prefix));
    await expect(waiting).resolves.toBe(accessEventStreamName(prefix));
  });

  it("gives up with a message that says who creates it", async () => {
    const prefix = testPrefix();
    const jsm = await bus.nc.jetstreamManager();
    await expect(
      awaitStream(jsm, accessEventStreamName(prefix), {
        createdBy: "auth, acl and dispatch",
        timeoutMs: 100,
        pollMs: 20,
      }),
    ).rejects.toThrow(/auth, acl and dispatch create it/);
    await expect(jsm.streams.info(accessEventStreamName(prefix))).rejects.toBeDefined();
  });
});
