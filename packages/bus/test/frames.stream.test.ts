import { GatehouseError, INVOKE_PROTOCOL_VERSION } from "@gatehouse/contracts";
import { captureLogger, testNatsUrl, testPrefix } from "@gatehouse/testkit";
import type { Msg, Subscription } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BusConnection,
  CoalescingTransport,
  connectBus,
  decodeInvokeRequest,
  encodeInvokeRequest,
  type Frame,
  FrameWriter,
  ReplyMux,
  toFrame,
} from "../src/index.js";

const { logger } = captureLogger("frames-test");
const prefix = testPrefix();
const encoder = new TextEncoder();
let bus: BusConnection;
let mux: ReplyMux;
const subs: Subscription[] = [];

beforeAll(async () => {
  bus = await connectBus({ url: await testNatsUrl(), name: "frames-test", logger });
  mux = new ReplyMux(bus.nc, "dispatch");
});
afterAll(async () => {
  for (const s of subs) s.unsubscribe();
  mux.close();
  await bus.drain();
});

function answer(subject: string, script: (w: FrameWriter, msg: Msg) => void) {
  subs.push(
    bus.nc.subscribe(subject, {
      callback: (_err, msg) => {
        if (msg.reply) script(new FrameWriter(bus.nc, msg.reply), msg);
      },
    }),
  );
}

async function collect(subject: string, idleTimeoutMs = 1_000): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of mux.stream(subject, encoder.encode("{}"), {
    firstFrameTimeoutMs: 1_000,
    idleTimeoutMs,
  })) {
    out.push(f);
  }
  return out;
}

describe("invoke requests", () => {
  it("carry the metadata and the body byte for byte", () => {
    const body = encoder.encode('{"model":"a/b","messages":[{"role":"user","content":"héllo ✓"}]}');
    const decoded = decodeInvokeRequest(encodeInvokeRequest('{"account":"ä"}', body));
    expect(decoded.metaJson).toBe('{"account":"ä"}');
    expect(Buffer.from(decoded.body).equals(Buffer.from(body))).toBe(true);
  });

  it("of another protocol version, or truncated, are refused", () => {
    const good = encodeInvokeRequest("{}", encoder.encode("{}"));
    const other = Buffer.from(good);
    other[0] = INVOKE_PROTOCOL_VERSION + 1;
    expect(() => decodeInvokeRequest(other)).toThrow(GatehouseError);
    expect(() => decodeInvokeRequest(good.subarray(0, 3))).toThrow(GatehouseError);
    const lying = Buffer.from(good);
    lying.writeUInt32BE(1_000, 1);
    expect(() => decodeInvokeRequest(lying)).toThrow(GatehouseError);
  });
});

describe("frames", () => {
  it("answer a request with one result frame: status, usage and body", async () => {
    const subject = `${prefix}.result`;
    answer(subject, (w, msg) => {
      const { metaJson, body } = decodeInvokeRequest(msg.data);
      w.result(201, `{"meta":${metaJson},"len":${body.byteLength}}`, { promptTokens: 1 });
    });
    const frame = await mux.request(subject, encodeInvokeRequest('{"x":1}', encoder.encode("{}")), 1_000);
    expect(frame.kind).toBe("result");
    if (frame.kind === "result") {
      expect(frame.status).toBe(201);
      expect(frame.usage).toBe('{"promptTokens":1}');
      expect(JSON.parse(frame.body.toString())).toEqual({ meta: { x: 1 }, len: 2 });
    }
    expect(mux.inFlight).toBe(0);
  });

  it("route many concurrent replies on the one subscription to their own callers", async () => {
    const subject = `${prefix}.many`;
    answer(subject, (w, msg) => {
      const n = decodeInvokeRequest(msg.data).metaJson;
      setTimeout(() => w.result(200, n, null), Math.random() * 20);
    });
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        mux.request(subject, encodeInvokeRequest(String(i), new Uint8Array(0)), 2_000),
      ),
    );
    expect(answers.map((f) => (f.kind === "result" ? Number(f.body.toString()) : -1))).toEqual(
      Array.from({ length: 200 }, (_, i) => i),
    );
    expect(mux.inFlight).toBe(0);
  });

  it("time a request out as 504 and forget it", async () => {
    const subject = `${prefix}.silent`;
    answer(subject, () => {});
    const err = await mux.request(subject, encoder.encode("{}"), 100).catch((e: unknown) => e);
    expect((err as GatehouseError).code).toBe("service_timeout");
    expect(mux.inFlight).toBe(0);
  });

  it("deliver a stream's chunks in order, then its end", async () => {
    const subject = `${prefix}.ok`;
    answer(subject, (w) => {
      for (let i = 0; i < 50; i++) w.chunk(i % 2 ? `data: ${i}\n\n` : encoder.encode(`data: ${i}\n\n`));
      w.end({ promptTokens: 1, completionTokens: 2, totalTokens: 3 });
    });
    const frames = await collect(subject);
    const chunks = frames.filter((f) => f.kind === "chunk").map((f) => f.data.toString());
    expect(chunks.join("")).toEqual(Array.from({ length: 50 }, (_, i) => `data: ${i}\n\n`).join(""));
    const last = frames.at(-1);
    expect(last?.kind).toBe("end");
    if (last?.kind === "end") expect(JSON.parse(last.usage.toString())).toMatchObject({ totalTokens: 3 });
    expect(mux.inFlight).toBe(0);
  });

  it("report no responders as 503 at once", async () => {
    const started = Date.now();
    const err = await collect(`${prefix}.nobody`).catch((e: unknown) => e);
    expect((err as GatehouseError).code).toBe("service_unavailable");
    expect(Date.now() - started).toBeLessThan(500);
    const single = await mux.request(`${prefix}.nobody`, encoder.encode("{}"), 2_000).catch((e) => e);
    expect((single as GatehouseError).code).toBe("service_unavailable");
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("carry an error frame as a catalog error", async () => {
    const subject = `${prefix}.err`;
    answer(subject, (w) =>
      w.error(new GatehouseError("provider_rate_limited", "slow down", { retryAfterSeconds: 3 })),
    );
    const frames = await collect(subject);
    const last = frames.at(-1);
    expect(last?.kind).toBe("error");
    if (last?.kind === "error") {
      expect(last.error.code).toBe("provider_rate_limited");
      expect(last.error.retryAfterSeconds).toBe(3);
    }
  });

  it("refuse a stream with a missing chunk", async () => {
    const subject = `${prefix}.gap`;
    answer(subject, (w) => {
      w.chunk("data: 1\n\n");
      (w as unknown as { seq: number }).seq++; // frame 2 is never sent
      w.chunk("data: 3\n\n");
      w.end(null);
    });
    const err = await collect(subject).catch((e: unknown) => e);
    expect((err as GatehouseError).code).toBe("internal_error");
    expect((err as GatehouseError).detail).toContain("expected 2");
    expect(mux.inFlight).toBe(0);
  });

  it("refuse a reply that is not a frame", async () => {
    const subject = `${prefix}.junk`;
    subs.push(bus.nc.subscribe(subject, { callback: (_e, msg) => msg.respond(encoder.encode("{}")) }));
    const err = await mux.request(subject, encoder.encode("{}"), 1_000).catch((e: unknown) => e);
    expect((err as GatehouseError).code).toBe("internal_error");
  });

  it("end with a timeout when the stream goes quiet", async () => {
    const subject = `${prefix}.quiet`;
    answer(subject, (w) => {
      w.chunk(encoder.encode("data: 1\n\n"));
    });
    const err = await collect(subject, 200).catch((e: unknown) => e);
    expect((err as GatehouseError).code).toBe("service_timeout");
    expect(mux.inFlight).toBe(0);
  });

  it("stop listening when the reader stops early", async () => {
    const subject = `${prefix}.early`;
    answer(subject, (w) => {
      for (let i = 0; i < 5; i++) w.chunk(`data: ${i}\n\n`);
      w.end(null);
    });
    const stream = mux.stream(subject, encoder.encode("{}"), {
      firstFrameTimeoutMs: 1_000,
      idleTimeoutMs: 1_000,
    });
    for await (const f of stream) if (f.kind === "chunk") break;
    expect(mux.inFlight).toBe(0);
  });
});

describe("FrameWriter and the coalescing transport", () => {
  it("sends a stream's first chunk at once and the chunks of the rest of the turn as one frame", async () => {
    const transport = (bus.nc as unknown as { protocol: { transport: CoalescingTransport } }).protocol
      .transport;
    expect(transport).toBeInstanceOf(CoalescingTransport);
    const subject = `${prefix}.batched`;
    const received: Buffer[] = [];
    subs.push(bus.nc.subscribe(subject, { callback: (_e, m) => received.push(Buffer.from(m.data)) }));
    await bus.nc.flush();
    const writer = new FrameWriter(bus.nc, subject);
    writer.chunk("first");
    await Promise.resolve();
    // Written already: nothing waits in the transport for the end of the turn.
    expect(transport.pendingFrames).toBe(0);
    for (let i = 0; i < 100; i++) writer.chunk(`data: ${i}\n\n`);
    await new Promise((r) => setImmediate(r));
    writer.end(null);
    await bus.nc.flush();
    const frames = received.map((data) =>
      toFrame({ data, headers: undefined } as unknown as Msg, "dispatch"),
    );
    expect(frames.map((f) => f.kind)).toEqual(["chunk", "chunk", "end"]);
    expect(frames.map((f) => f.seq)).toEqual([1, 2, 3]);
    const [first, rest] = frames;
    expect(first?.kind === "chunk" && first.data.toString()).toBe("first");
    expect(rest?.kind === "chunk" && rest.data.toString()).toBe(
      Array.from({ length: 100 }, (_, i) => `data: ${i}\n\n`).join(""),
    );
  });

  it("cuts a batch at 32 KiB (half a credit window)", async () => {
    const subject = `${prefix}.big`;
    const sizes: number[] = [];
    subs.push(bus.nc.subscribe(subject, { callback: (_e, m) => sizes.push(m.data.byteLength) }));
    await bus.nc.flush();
    const writer = new FrameWriter(bus.nc, subject);
    writer.chunk("first");
    const piece = "x".repeat(1024);
    for (let i = 0; i < 600; i++) writer.chunk(piece);
    writer.end(null);
    await bus.nc.flush();
    expect(sizes.length).toBe(21); // first, 18 × 32 + 24 pieces, end
    expect(Math.max(...sizes)).toBeLessThan(33 * 1024);
  });
});
