import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { TraceFlags } from "@opentelemetry/api";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { EMPTY_CONTEXT } from "./sync-context.js";
import { type EndedSpanSink, GatehouseTracerProvider } from "./tracer.js";

/** The next pool refills: "zeros" leaves the whole pool zero; "real" is the kernel's generator. */
const refills = vi.hoisted(() => ({ plan: [] as ("zeros" | "real")[], count: 0 }));
vi.mock("node:crypto", async (original) => {
  const crypto = await original<typeof import("node:crypto")>();
  return {
    ...crypto,
    randomFillSync: <T extends NodeJS.ArrayBufferView>(buffer: T): T => {
      refills.count++;
      if (refills.plan.shift() === "zeros") {
        new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength).fill(0);
        return buffer;
      }
      return crypto.randomFillSync(buffer);
    },
  };
});

const sink: EndedSpanSink<string> = {
  scope: (name) => name,
  onEnd: () => {},
  forceFlush: async () => {},
  shutdown: async () => {},
};

function tracer(sampled: boolean) {
  return new GatehouseTracerProvider({
    sink,
    sampling: { parentBased: true, root: sampled },
    limits: { attributeCountLimit: 128, attributeValueLengthLimit: Number.POSITIVE_INFINITY },
  } as ConstructorParameters<typeof GatehouseTracerProvider<string>>[0]).getTracer("ids");
}

describe("span and trace ids", () => {
  beforeEach(() => {
    refills.plan = [];
    refills.count = 0;
  });

  it("are lower-case hex of 16 and 32 digits, never all zeros, unique across many pool refills", () => {
    const ids = new Set<string>();
    for (const sampled of [true, false]) {
      const t = tracer(sampled);
      // 24 bytes a root span: an 8 KB pool every ~341 spans, so 12 refills here.
      for (let i = 0; i < 2_000; i++) {
        const root = t.startSpan("root", {}, EMPTY_CONTEXT).spanContext();
        expect(root.traceId).toMatch(/^(?!0{32})[0-9a-f]{32}$/);
        expect(root.spanId).toMatch(/^(?!0{16})[0-9a-f]{16}$/);
        expect(root.traceFlags).toBe(sampled ? TraceFlags.SAMPLED : TraceFlags.NONE);
        ids.add(root.traceId).add(root.spanId);
      }
    }
    expect(ids.size).toBe(8_000);
    expect(refills.count).toBeGreaterThanOrEqual(11);
  });

  it("skip a pool of zeros rather than make an all-zero id, and take the next pool's bytes as hex", () => {
    const t = tracer(true);
    // Use up what is left of the current pool, then make the next two refills: zeros, then random.
    const before = refills.count;
    while (refills.count === before) t.startSpan("drain", {}, EMPTY_CONTEXT);
    refills.plan = ["zeros", "real"];
    const seen = refills.count;
    // The span that meets the end of the pool gets none of the zero pool's ids: both refills happen in it.
    for (let made = 0; refills.count === seen; made++) {
      const span = t.startSpan("next", {}, EMPTY_CONTEXT).spanContext();
      expect(span.traceId).toMatch(/^(?!0{32})[0-9a-f]{32}$/);
      expect(span.spanId).toMatch(/^(?!0{16})[0-9a-f]{16}$/);
      expect(made).toBeLessThan(400);
    }
    expect(refills.count).toBe(seen + 2);
  });

  it("do not keep the random pool they came from alive: one id kept per pool holds its own bytes only", () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const t = tracer(true);
    const heapUsed = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    // One span id kept from each of 600 pools: as slices of the pool's hex they would hold 600 × 16 KB.
    const kept: string[] = [];
    const before = heapUsed();
    for (let pool = 0; pool < 600; pool++) {
      const at = refills.count;
      kept.push(t.startSpan("kept", {}, EMPTY_CONTEXT).spanContext().spanId);
      while (refills.count === at) t.startSpan("dropped", {}, EMPTY_CONTEXT);
    }
    const grown = heapUsed() - before;
    expect(kept).toHaveLength(600);
    // Flat 16-character ids are 32 bytes each (~19 KB); the pools' hex would be ~9.8 MB.
    expect(grown).toBeLessThan(2 * 1024 * 1024);
  });
});
