import { GatehouseError } from "@gatehouse/contracts";
import { captureLogger, testNatsUrl, testPrefix } from "@gatehouse/testkit";
import { headers, type Subscription } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BusConnection, connectBus, type Frame, FrameWriter, requestFrames } from "../src/index.js";

const { logger } = captureLogger("frames-test");
const prefix = testPrefix();
const encoder = new TextEncoder();
let bus: BusConnection;
const subs: Subscription[] = [];

beforeAll(async () => {
  bus = await connectBus({ url: await testNatsUrl(), name: "frames-test", logger });
});
afterAll(async () => {
  for (const s of subs) s.unsubscribe();
  await bus.drain();
});

function answer(subject: string, script: (w: FrameWriter) => void) {
  subs.push(
    bus.nc.subscribe(subject, {
      callback: (_err, msg) => {
        if (msg.reply) script(new FrameWriter(bus.nc, msg.reply));
      },
    }),
  );
}

async function collect(subject: string, idleTimeoutMs = 1_000): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of requestFrames(bus.nc, {
    subject,
    service: "dispatch",
    headers: headers(),
    payload: encoder.encode("{}"),
    firstFrameTimeoutMs: 1_000,
    idleTimeoutMs,
  })) {
    out.push(f);
  }
  return out;
}

describe("frames", () => {
  it("deliver a stream's chunks in order, then its end", async () => {
    const subject = `${prefix}.ok`;
    answer(subject, (w) => {
      w.start("cancel.me");
      for (let i = 0; i < 50; i++) w.chunk(encoder.encode(`data: ${i}\n\n`));
      w.end({ promptTokens: 1, completionTokens: 2, totalTokens: 3 });
    });
    const frames = await collect(subject);
    expect(frames[0]).toEqual({ kind: "start", cancelSubject: "cancel.me" });
    const chunks = frames.filter((f) => f.kind === "chunk").map((f) => new TextDecoder().decode(f.data));
    expect(chunks).toEqual(Array.from({ length: 50 }, (_, i) => `data: ${i}\n\n`));
    expect(frames.at(-1)?.kind).toBe("end");
  });

  it("report no responders as 503 at once", async () => {
    const started = Date.now();
    const err = await collect(`${prefix}.nobody`).catch((e: unknown) => e);
    expect((err as GatehouseError).code).toBe("service_unavailable");
    expect(Date.now() - started).toBeLessThan(500);
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

  it("end with a timeout when the stream goes quiet", async () => {
    const subject = `${prefix}.quiet`;
    answer(subject, (w) => {
      w.start("x");
      w.chunk(encoder.encode("data: 1\n\n"));
    });
    const err = await collect(subject, 200).catch((e: unknown) => e);
    expect((err as GatehouseError).code).toBe("service_timeout");
  });
});
