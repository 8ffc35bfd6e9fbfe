import { usageStreamName, usageSubject } from "@gatehouse/contracts";
import { captureLogger, testNatsUrl, testPrefix } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BusConnection,
  connectBus,
  encodeJson,
  ensureDurable,
  ensureStream,
  handleUntilStuck,
  pullMessages,
  usageStream,
} from "../src/index.js";

// nats.js ends a pull (fetch) on a timer of its own started when the pull is made, 5 % past its
// expiry; JetStream holds the pull open until the expiry counted from when the request reaches it,
// which is sent only once the pull is read. Behind a busy event loop the server outlasted the client:
// a message it delivered in between went to an inbox no longer read — lost until its ack wait (30 s
// in our consumers; a spend counted, a webhook enqueued that much later).
const { logger } = captureLogger("pull-test");
let bus: BusConnection;
const prefix = testPrefix();

beforeAll(async () => {
  bus = await connectBus({ url: await testNatsUrl(), name: "pull-test", logger });
});
afterAll(async () => {
  const jsm = await bus.nc.jetstreamManager();
  await jsm.streams.delete(usageStreamName(prefix)).catch(() => {});
  await bus.drain();
});

describe("a pull read late", () => {
  it("still hands over a message JetStream delivers to it a second after it was made", async () => {
    const jsm = await bus.nc.jetstreamManager();
    const stream = await ensureStream(jsm, usageStream(prefix));
    await ensureDurable(jsm, stream, "late", { maxAckPending: 100, ackWaitMs: 30_000 });
    const js = bus.nc.jetstream();
    const consumer = await js.consumers.get(stream, "late");
    const made = Date.now();
    const messages = await pullMessages(consumer, 100);
    // The event loop is busy elsewhere for a while before the pull is read (its request sent).
    await new Promise((r) => setTimeout(r, 300));
    const publishing = new Promise((r) => setTimeout(r, Math.max(0, made + 1_150 - Date.now()))).then(() =>
      js.publish(usageSubject(prefix), encodeJson({ n: 1 })),
    );
    const giveUp = setTimeout(() => void messages.close(), 5_000);
    const seen: number[] = [];
    await handleUntilStuck(
      messages,
      async (m) => {
        seen.push(m.seq);
        m.ack();
        void messages.close();
        return true;
      },
      (m) => m.nak(),
    );
    clearTimeout(giveUp);
    await publishing;
    expect(seen).toEqual([1]);
  }, 20_000);
});
