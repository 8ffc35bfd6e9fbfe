import { randomBytes } from "node:crypto";
import { GatehouseError } from "@gatehouse/contracts";
import { captureLogger, testNatsUrl, testPrefix } from "@gatehouse/testkit";
import type { Msg, NatsConnection, Subscription } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BusConnection,
  connectBus,
  encodeInvokeRequest,
  type Frame,
  FrameWriter,
  maxPayloadOf,
  ReplyMux,
} from "../src/index.js";

const { logger } = captureLogger("frames-large-test");
const prefix = testPrefix();
let bus: BusConnection;
let mux: ReplyMux;
const subs: Subscription[] = [];
const request = encodeInvokeRequest("{}", new Uint8Array(0));

beforeAll(async () => {
  bus = await connectBus({ url: await testNatsUrl(), name: "frames-large-test", logger });
  mux = new ReplyMux(bus.nc, "dispatch");
});
afterAll(async () => {
  for (const s of subs) s.unsubscribe();
  mux.close();
  await bus.drain();
});

function answer(
  subject: string,
  script: (w: FrameWriter, msg: Msg) => void | Promise<void>,
  nc?: NatsConnection,
) {
  subs.push(
    bus.nc.subscribe(subject, {
      callback: (_err, msg) => {
        if (msg.reply) void script(new FrameWriter(nc ?? bus.nc, msg.reply), msg);
      },
    }),
  );
}

/** The connection, except that its `n`-th publish throws (a frame the server refused). */
function failingAt(n: number): NatsConnection {
  let count = 0;
  return new Proxy(bus.nc, {
    get(target, prop, receiver) {
      if (prop === "publish") {
        return (subject: string, data?: Uint8Array) => {
          if (++count === n) throw new Error("MAX_PAYLOAD_EXCEEDED (injected)");
          target.publish(subject, data);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function collect(subject: string): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of mux.stream(subject, request, { firstFrameTimeoutMs: 2_000, idleTimeoutMs: 2_000 }))
    out.push(f);
  return out;
}

describe("answers larger than a NATS message", () => {
  it.each([
    ["~2 MB", 2 * 1024 * 1024 + 17],
    ["~20 MB", 20 * 1024 * 1024 + 3],
  ])(
    "%s arrive complete and byte-identical",
    async (_label, size) => {
      const subject = `${prefix}.large.${size}`;
      const body = randomBytes(size);
      answer(subject, (w) => w.result(200, body, { promptTokens: 1, completionTokens: 2, totalTokens: 3 }));
      const frame = await mux.request(subject, request, 30_000, { maxBytes: 64 * 1024 * 1024 });
      expect(frame.kind).toBe("result");
      if (frame.kind !== "result") return;
      expect(frame.status).toBe(200);
      expect(frame.usage).toBe('{"promptTokens":1,"completionTokens":2,"totalTokens":3}');
      expect(frame.body.byteLength).toBe(size);
      expect(frame.body.equals(body)).toBe(true);
      expect(mux.inFlight).toBe(0);
    },
    60_000,
  );

  it("no frame is larger than the server's max_payload", async () => {
    const subject = `${prefix}.large.sizes`;
    const sizes: number[] = [];
    subs.push(bus.nc.subscribe(`${subject}.reply`, { callback: (_e, m) => sizes.push(m.data.byteLength) }));
    await bus.nc.flush();
    await new FrameWriter(bus.nc, `${subject}.reply`).result(200, "x".repeat(3 * 1024 * 1024), null);
    const writer = new FrameWriter(bus.nc, `${subject}.reply`);
    writer.chunk("first");
    writer.chunk("y".repeat(2_500_000)); // one upstream event larger than a message
    writer.end(null);
    await bus.nc.flush();
    expect(sizes.length).toBeGreaterThan(6);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(maxPayloadOf(bus.nc));
  });

  it("a stream's event larger than a message arrives whole, cut across chunk frames", async () => {
    const subject = `${prefix}.large.chunk`;
    const event = `data: ${"z".repeat(3 * 1024 * 1024)}\n\n`;
    answer(subject, (w) => {
      w.chunk("data: 1\n\n");
      w.chunk(event);
      w.end(null);
    });
    const frames = await collect(subject);
    const text = frames.map((f) => (f.kind === "chunk" ? f.data.toString() : "")).join("");
    expect(text).toBe(`data: 1\n\n${event}`);
    expect(frames.at(-1)?.kind).toBe("end");
  });

  it("an answer over the caller's limit is refused as response_too_large, not waited for", async () => {
    const subject = `${prefix}.large.limit`;
    answer(subject, (w) => w.result(200, randomBytes(5 * 1024 * 1024), null));
    const started = performance.now();
    const err = await mux
      .request(subject, request, 600_000, { maxBytes: 2 * 1024 * 1024 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatehouseError);
    expect((err as GatehouseError).code).toBe("response_too_large");
    expect((err as GatehouseError).status).toBe(502);
    // Far below the 600 s timeout: it failed on the parts, not on the clock.
    expect(performance.now() - started).toBeLessThan(60_000);
    expect(mux.inFlight).toBe(0);
  });

  it("a publish failure mid-answer ends the call at once with an error", async () => {
    const subject = `${prefix}.large.fail`;
    // Publishes 1–2 go out, the 3rd (a part) throws: the error frame takes its place.
    answer(subject, (w) => w.result(200, randomBytes(6 * 1024 * 1024), null), failingAt(3));
    const started = performance.now();
    const frame = await mux.request(subject, request, 600_000, { maxBytes: 64 * 1024 * 1024 });
    expect(frame.kind).toBe("error");
    if (frame.kind !== "error") return;
    expect(frame.error.code).toBe("internal_error");
    expect(frame.error.message).toBe("the answer could not be delivered");
    expect(performance.now() - started).toBeLessThan(60_000);
  });

  it("a publish failure mid-stream ends the stream at once with an error frame", async () => {
    const subject = `${prefix}.large.fail-stream`;
    let failed: boolean | undefined;
    answer(
      subject,
      async (w) => {
        w.chunk("data: 1\n\n");
        await new Promise((r) => setImmediate(r));
        w.chunk("data: 2\n\n"); // held for the end of the turn; its publish throws
        await new Promise((r) => setImmediate(r));
        failed = w.failed;
        w.end(null);
      },
      failingAt(2),
    );
    const frames = await collect(subject);
    expect(frames.map((f) => f.kind)).toEqual(["chunk", "error"]);
    expect(failed).toBe(true);
  });
});
