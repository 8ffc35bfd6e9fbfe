import { PropagatedSpan, SynchronousContextManager } from "@gatehouse/kit";
import {
  type Context,
  context,
  defaultTextMapSetter,
  propagation,
  ROOT_CONTEXT,
  type SpanContext,
  trace,
} from "@opentelemetry/api";
import { suppressTracing, TraceState, W3CTraceContextPropagator } from "@opentelemetry/core";
import { headers as natsHeaders } from "nats";
import { describe, expect, it } from "vitest";
import { injectTraceContext, traceCarrier, traceHeaders } from "./trace.js";

const propagator = new W3CTraceContextPropagator();

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const SPAN_ID = "b7ad6b7169203331";

/** Ids the W3C propagator writes and ones it refuses: cases, lengths, odd characters, zeros. */
function ids(valid: string): string[] {
  const out = new Set([
    valid,
    valid.toUpperCase(),
    "0".repeat(valid.length),
    "",
    valid.slice(1),
    `${valid}0`,
  ]);
  for (const c of ["g", "G", "-", " ", "\n", "\u0010", "\u0019", "\u0041", "\u0046", "\u0047", "é", "\u0130"])
    for (const i of [0, 5, valid.length - 1]) out.add(valid.slice(0, i) + c + valid.slice(i + 1));
  return [...out];
}

function contexts(): Context[] {
  const out: Context[] = [ROOT_CONTEXT];
  for (const traceId of ids(TRACE_ID))
    for (const spanId of ids(SPAN_ID))
      for (const traceFlags of [0, 1, 2, 3, 15, 16, 0xff])
        for (const traceState of [undefined, new TraceState("vendor=a,other=b")]) {
          const spanContext: SpanContext = { traceId, spanId, traceFlags, isRemote: true, traceState };
          const ctx = trace.setSpanContext(ROOT_CONTEXT, spanContext);
          out.push(ctx);
          if (traceFlags === 1 && traceState === undefined) out.push(suppressTracing(ctx));
          // What Gatehouse's tracer makes for a call left out of the sample (its ids are valid).
          if (traceId === TRACE_ID && spanId === SPAN_ID) {
            const unsampled = trace.setSpan(ROOT_CONTEXT, new PropagatedSpan(spanContext));
            out.push(unsampled, suppressTracing(unsampled));
          }
        }
  return out;
}

/** What the W3C propagator injects from `ctx`. */
function w3c(ctx: Context): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagator.inject(ctx, carrier, defaultTextMapSetter);
  return carrier;
}

describe("traceCarrier, injectTraceContext and traceHeaders", () => {
  it("inject nothing before a propagator is registered, as the API's no-op one", () => {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 });
    expect(traceCarrier(ctx)).toBeUndefined();
  });

  it("write what the W3C propagator writes, for every span context it takes or refuses", () => {
    propagation.setGlobalPropagator(propagator);
    context.setGlobalContextManager(new SynchronousContextManager());
    let written = 0;
    for (const ctx of contexts()) {
      const expected = w3c(ctx);
      const carrier = traceCarrier(ctx);
      expect(carrier ?? {}).toEqual(expected);
      const headers = natsHeaders();
      context.with(ctx, () => injectTraceContext(headers));
      const injected: Record<string, string> = {};
      for (const key of headers.keys()) injected[key] = headers.get(key);
      expect(injected).toEqual(expected);
      // No headers at all when there is nothing to write (a request then goes without a header block).
      const made = context.with(ctx, () => traceHeaders());
      const carried: Record<string, string> = {};
      for (const key of made?.keys() ?? []) carried[key] = made?.get(key) ?? "";
      expect(made === undefined ? undefined : carried).toEqual(expected.traceparent ? expected : undefined);
      if (expected.traceparent) written++;
    }
    // The cases cover both: contexts the propagator writes and contexts it refuses.
    expect(written).toBeGreaterThan(50);
  });
});
