import { traceCarrier } from "@gatehouse/bus";
import { captureLogger, startInMemoryTracing } from "@gatehouse/testkit";
import { propagation, ROOT_CONTEXT, type SpanContext, trace } from "@opentelemetry/api";
import Fastify from "fastify";
import { afterAll, describe, expect, it } from "vitest";
import { registerObservability } from "./observe.js";

const tracing = await startInMemoryTracing();
afterAll(() => tracing.shutdown());

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const SPAN_ID = "b7ad6b7169203331";

/** Caller headers the W3C propagator takes, and ones it refuses (then ingress starts a trace). */
const CALLERS: Record<string, string | string[]>[] = [
  {},
  { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` },
  { traceparent: `00-${TRACE_ID}-${SPAN_ID}-00` },
  { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: "vendor=a,other=b" },
  { traceparent: `00-${TRACE_ID}-${SPAN_ID}-00`, tracestate: "vendor=a" },
  { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: "" },
  { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: "not a list member,ok=1" },
  { traceparent: `cc-${TRACE_ID}-${SPAN_ID}-09-future-fields` },
  { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01-extra` },
  { traceparent: `ff-${TRACE_ID}-${SPAN_ID}-01` },
  { traceparent: `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01` },
  { traceparent: `00-${"0".repeat(32)}-${SPAN_ID}-01` },
  { traceparent: `00-${TRACE_ID}-${"0".repeat(16)}-01` },
  { traceparent: `00-${TRACE_ID}-${SPAN_ID}` },
  { traceparent: "" },
  { tracestate: "vendor=a" },
  { traceparent: `00-${TRACE_ID}-${SPAN_ID}-02`, tracestate: "  vendor=a ,  other=b  " },
  { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: "Upper=a,=b,k=,k2=v\u0001" },
  // Past the propagator's bounds: 32 members kept of 40, nothing kept of over 512 characters.
  {
    traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`,
    tracestate: Array.from({ length: 40 }, (_, i) => `k${i}=v`).join(","),
  },
  { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: `a=${"x".repeat(600)}` },
  { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: `a=1,${"x=1,".repeat(20_000)}` },
  // A header sent twice: Node (HTTP/1, HTTP/2 and inject alike) hands fastify one string, joined with ", ".
  { traceparent: [`00-${TRACE_ID}-${SPAN_ID}-01`, `00-${"1".repeat(32)}-${SPAN_ID}-01`] },
  { traceparent: [`00-${TRACE_ID}-${SPAN_ID}-00`], tracestate: ["vendor=a", "other=b"] },
  { traceparent: ["", `00-${TRACE_ID}-${SPAN_ID}-01`] },
  { traceparent: [] },
  { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01, 00-${"1".repeat(32)}-${SPAN_ID}-01` },
];

/**
 * What the W3C propagator (the one tracing registers) reads from `headers` as the server receives them,
 * when it reads a parent.
 */
function w3cParent(headers: Record<string, string | string[]>): SpanContext | undefined {
  const received = Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(", ") : value]),
  );
  return trace.getSpanContext(propagation.extract(ROOT_CONTEXT, received));
}

describe("the caller's trace context at ingress", () => {
  it("is read as the W3C propagator reads it: its trace, sampled flag and tracestate go on to every bus call", async () => {
    const app = Fastify();
    registerObservability(app, captureLogger("ingress", "warn").logger);
    const calls: { active: SpanContext | undefined; carried: ReturnType<typeof traceCarrier> }[] = [];
    app.get("/call", async () => {
      calls.push({ active: trace.getActiveSpan()?.spanContext(), carried: traceCarrier() });
      return "ok";
    });
    await app.ready();
    for (const headers of CALLERS) {
      const response = await app.inject({ method: "GET", url: "/call", headers });
      expect(response.statusCode).toBe(200);
      const seen = calls.pop();
      const active = seen?.active as SpanContext;
      const parent = w3cParent(headers);
      const label = JSON.stringify(headers);
      if (parent) {
        // The caller's trace, its sampling decision (parent-based) and its tracestate; a span of ours.
        expect({ label, traceId: active.traceId, flags: active.traceFlags & 1 }).toEqual({
          label,
          traceId: parent.traceId,
          flags: parent.traceFlags & 1,
        });
        expect(active.traceState?.serialize(), label).toBe(parent.traceState?.serialize());
        expect(active.spanId, label).not.toBe(parent.spanId);
      } else {
        // A trace of ingress's own, sampled.
        expect(active.traceId, label).not.toBe(TRACE_ID);
        expect(active.traceFlags, label).toBe(1);
        expect(active.traceState, label).toBeUndefined();
      }
      // An unsampled call still sends its trace on, with flags 00 (W3C), for the next hop to follow.
      const flags = (active.traceFlags & 1) === 1 ? "01" : "00";
      expect(seen?.carried, label).toEqual({
        traceparent: `00-${active.traceId}-${active.spanId}-${flags}`,
        ...(active.traceState ? { tracestate: active.traceState.serialize() } : {}),
      });
    }
    await app.close();
  });

  it("makes the recorded server span the child of the caller's span", async () => {
    const app = Fastify();
    registerObservability(app, captureLogger("ingress", "warn").logger);
    app.get("/child", async () => "ok");
    await app.ready();
    await app.inject({
      method: "GET",
      url: "/child",
      headers: { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: "vendor=a" },
    });
    await app.close();
    const server = tracing.spans().find((s) => s.name === "GET /child");
    expect(server?.spanContext().traceId).toBe(TRACE_ID);
    expect(server?.parentSpanContext).toEqual({ spanId: SPAN_ID, isRemote: true });
  });
});
