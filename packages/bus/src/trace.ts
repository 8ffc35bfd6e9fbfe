import {
  type Attributes,
  type Context,
  context,
  type ProxyTracerProvider,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from "@opentelemetry/api";
import type { MsgHdrs } from "nats";

const setter: TextMapSetter<MsgHdrs> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};

const getter: TextMapGetter<MsgHdrs | undefined> = {
  keys(carrier) {
    return carrier ? carrier.keys() : [];
  },
  get(carrier, key) {
    if (!carrier?.has(key)) return undefined;
    return carrier.get(key);
  },
};

/** Put the active W3C trace context (`traceparent`, `tracestate`) into NATS headers. */
export function injectTraceContext(headers: MsgHdrs): void {
  propagation.inject(context.active(), headers, setter);
}

export function extractTraceContext(headers: MsgHdrs | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, headers, getter);
}

/**
 * A trace context (by default the active one) as W3C `traceparent` and `tracestate` in a plain object, or undefined when
 * nothing is propagated. Only those two: the SDK's default propagators would add the caller's
 * `baggage` too, which is theirs, not ours, and unbounded (`InvokeMeta.trace` refuses long values).
 */
export function traceCarrier(from: Context = context.active()): Record<string, string> | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(from, carrier);
  const traceparent = carrier.traceparent;
  if (traceparent === undefined) return undefined;
  const tracestate = carrier.tracestate;
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
}

/** The context a `traceCarrier()` object describes (the root context when there is none). */
export function contextFromCarrier(carrier: Record<string, string> | undefined): Context {
  return carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
}

// A proxy: it finds the SDK's tracer once one is registered, and is not looked up again per span.
const busTracer = trace.getTracer("gatehouse-bus");

/** A span whose parent is the caller's carried trace context; a no-op span when tracing is off. */
export function startSpanFromCarrier(
  name: string,
  carrier: Record<string, string> | undefined,
  attributes: Attributes,
): Span {
  return busTracer.startSpan(name, { attributes }, contextFromCarrier(carrier));
}

/**
 * Whether an OpenTelemetry SDK registered a tracer provider. Code that would do per-request work
 * only for a trace (wrapping handlers, reading answers for attributes) asks once, after telemetry
 * started, and does nothing at all when it is off.
 */
export function tracingEnabled(): boolean {
  const provider = trace.getTracerProvider() as Partial<ProxyTracerProvider>;
  return (
    typeof provider.getDelegateTracer !== "function" || provider.getDelegateTracer("gatehouse") !== undefined
  );
}

/** Runs `fn` with `span` active (so spans started inside are its children); a plain call when it records nothing. */
export function withActiveSpan<T>(span: Span, fn: () => T): T {
  if (!span.isRecording()) return fn();
  return context.with(trace.setSpan(context.active(), span), fn);
}
