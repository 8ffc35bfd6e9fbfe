import { describe, expect, it } from "vitest";
import { InvokeMeta } from "../src/invoke.js";

const meta = {
  account: "acme",
  model: "gpt",
  operation: "chat",
  dialect: "openai",
  stream: false,
  includeUsage: false,
  requestId: "r1",
  principal: { id: "3f1c1c52-9a59-4a4f-8f43-5d1f2f0a7b10", kind: "user" },
  keyId: "6b7e4c0d-2f1a-4e8b-9c3d-1a2b3c4d5e6f",
};
const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

describe("InvokeMeta.trace", () => {
  it("carries traceparent and tracestate", () => {
    const parsed = InvokeMeta.parse({ ...meta, trace: { traceparent, tracestate: "a=1" } });
    expect(parsed.trace).toEqual({ traceparent, tracestate: "a=1" });
  });

  it("keeps only those two: a propagator's other fields (baggage) are not carried", () => {
    const parsed = InvokeMeta.parse({ ...meta, trace: { traceparent, baggage: "user=alice" } });
    expect(parsed.trace).toEqual({ traceparent });
  });

  it("refuses a carrier without a traceparent or with a value too long", () => {
    expect(InvokeMeta.safeParse({ ...meta, trace: { tracestate: "a=1" } }).success).toBe(false);
    expect(InvokeMeta.safeParse({ ...meta, trace: { traceparent: "x".repeat(513) } }).success).toBe(false);
  });
});
