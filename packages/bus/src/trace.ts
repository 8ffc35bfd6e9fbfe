import { EMPTY_CONTEXT, PropagatedSpan } from "@gatehouse/kit";
import {
  type Attributes,
  type Context,
  context,
  createContextKey,
  createTraceState,
  type ProxyTracerProvider,
  propagation,
  type Span,
  type SpanContext,
  type SpanOptions,
  type TextMapGetter,
  trace,
} from "@opentelemetry/api";
import { type MsgHdrs, headers as natsHeaders } from "nats";

const getter: TextMapGetter<MsgHdrs | undefined> = {
  keys(carrier) {
    return carrier ? carrier.keys() : [];
  },
  get(carrier, key) {
    if (!carrier?.has(key)) return undefined;
    return carrier.get(key);
  },
};

/**
 * Put the active W3C trace context (`traceparent`, `tracestate`) into NATS headers: what the W3C
 * propagator (the one `registerTracing` sets) would put there.
 */
export function injectTraceContext(headers: MsgHdrs): void {
  const spanContext = propagatedSpanContext(context.active());
  if (spanContext !== undefined) setTraceHeaders(headers, spanContext);
}

/**
 * NATS headers carrying the active trace context, or undefined when there is none to carry (tracing
 * off, nothing active): then a request is sent without headers, rather than with an empty set that
 * is still made, encoded and sent as HPUB.
 */
export function traceHeaders(): MsgHdrs | undefined {
  const spanContext = propagatedSpanContext(context.active());
  if (spanContext === undefined) return undefined;
  const headers = natsHeaders();
  setTraceHeaders(headers, spanContext);
  return headers;
}

function setTraceHeaders(headers: MsgHdrs, spanContext: SpanContext): void {
  headers.set(TRACE_PARENT, traceparentOf(spanContext));
  if (spanContext.traceState) headers.set(TRACE_STATE, spanContext.traceState.serialize());
}

export function extractTraceContext(headers: MsgHdrs | undefined): Context {
  return propagation.extract(EMPTY_CONTEXT, headers, getter);
}

/** W3C trace context as `InvokeMeta.trace` carries it. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/**
 * A trace context (by default the active one) as W3C `traceparent` and `tracestate` in a plain object, or undefined when
 * nothing is propagated. Only those two: the SDK's default propagators would add the caller's
 * `baggage` too, which is theirs, not ours, and unbounded (`InvokeMeta.trace` refuses long values).
 */
export function traceCarrier(from: Context = context.active()): TraceCarrier | undefined {
  const spanContext = propagatedSpanContext(from);
  if (spanContext === undefined) return undefined;
  const traceparent = traceparentOf(spanContext);
  return spanContext.traceState
    ? { traceparent, tracestate: spanContext.traceState.serialize() }
    : { traceparent };
}

const TRACE_PARENT = "traceparent";
const TRACE_STATE = "tracestate";
/** `isTracingSuppressed`'s key (@opentelemetry/core: `createContextKey` is `Symbol.for`). */
const SUPPRESS_TRACING = createContextKey("OpenTelemetry SDK Context Key SUPPRESS_TRACING");
const INVALID_TRACE_ID = "0".repeat(32);
const INVALID_SPAN_ID = "0".repeat(16);

/**
 * Whether a propagator that writes `traceparent` was registered (`registerTracing` registers the W3C
 * one): until then the API's no-op propagator injects nothing, and neither does this. Once on it stays on.
 */
let propagatorOn = false;

/**
 * The span context the W3C propagator would inject from `from`, or undefined when it would inject
 * nothing (no span, tracing suppressed, an invalid id). Its checks, without its regular expressions:
 * once or twice per call (`InvokeMeta.trace`, the bus request's headers).
 */
function propagatedSpanContext(from: Context): SpanContext | undefined {
  if (!propagatorOn) {
    propagatorOn = propagation.fields().includes(TRACE_PARENT);
    if (!propagatorOn) return undefined;
  }
  const span = trace.getSpan(from);
  if (span === undefined || from.getValue(SUPPRESS_TRACING) === true) return undefined;
  const spanContext = span.spanContext();
  // Valid by construction (an unsampled span of Gatehouse's tracer, a parsed remote parent): every
  // call left out of the sample carries one, and its ids need no second look.
  if (span instanceof PropagatedSpan) return spanContext;
  const { traceId, spanId } = spanContext;
  if (!isHexOfLength(traceId, 32) || traceId === INVALID_TRACE_ID) return undefined;
  if (!isHexOfLength(spanId, 16) || spanId === INVALID_SPAN_ID) return undefined;
  return spanContext;
}

/** Whether `value` is `length` hex digits, either case (the API's `isValidTraceId` pattern). */
function isHexOfLength(value: unknown, length: number): boolean {
  if (typeof value !== "string" || value.length !== length) return false;
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) continue;
    const lower = c | 0x20; // A-F onto a-f; no other character lands on a-f
    if (lower < 0x61 || lower > LOWER_F) return false;
  }
  return true;
}

/** The W3C propagator's `traceparent` for a span context it injects (its flags written as it writes them). */
function traceparentOf(spanContext: SpanContext): string {
  const flags = spanContext.traceFlags;
  const suffix = flags === 1 ? "-01" : !flags ? "-00" : `-0${Number(flags).toString(16)}`;
  return `00-${spanContext.traceId}-${spanContext.spanId}${suffix}`;
}

/**
 * The context a `traceCarrier()` object describes (the empty context when there is none, or when its
 * `traceparent` is not one the W3C propagator would take). Read here rather than through the
 * registered propagator: the carrier is W3C trace context by contract (`InvokeMeta.trace`), and this
 * reads it without the propagator's regular expression and its match array, once per call.
 */
export function contextFromCarrier(carrier: TraceCarrier | undefined): Context {
  if (carrier === undefined) return EMPTY_CONTEXT;
  const parsed = parseTraceparent(carrier.traceparent);
  if (parsed === undefined) return EMPTY_CONTEXT;
  const remote: SpanContext = {
    traceId: parsed.traceId,
    spanId: parsed.spanId,
    traceFlags: parsed.traceFlags,
    isRemote: true,
    traceState: carrier.tracestate ? createTraceState(carrier.tracestate) : undefined,
  };
  return trace.setSpan(EMPTY_CONTEXT, new PropagatedSpan(remote));
}

// A proxy: it finds the SDK's tracer once one is registered, and is not looked up again per span.
const busTracer = trace.getTracer("gatehouse-bus");

/**
 * A span whose parent is the caller's carried trace context; a no-op span when tracing is off, for
 * which the carrier is not read (nothing parsed, no context made: as the no-op propagator did).
 */
export function startSpanFromCarrier(
  name: string,
  carrier: TraceCarrier | undefined,
  attributes?: Attributes,
): Span {
  const options = attributes ? { attributes } : NO_OPTIONS;
  // Once on, tracing stays on (a registered provider is not unregistered): asked until then only.
  if (!tracingOn) {
    tracingOn = tracingEnabled();
    if (!tracingOn) return busTracer.startSpan(name, options, EMPTY_CONTEXT);
  }
  return busTracer.startSpan(name, options, contextFromCarrier(carrier));
}

let tracingOn = false;

const NO_OPTIONS: SpanOptions = Object.freeze({});

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

/** The fields of a valid W3C `traceparent`. */
export interface Traceparent {
  traceId: string;
  spanId: string;
  traceFlags: number;
}

const DASH = 0x2d;
const LOWER_F = 0x66;

/** Whether `code` is in JavaScript's `\s` (white space and line terminators). */
function isPatternSpace(code: number): boolean {
  return (
    code === 0x20 ||
    (code >= 0x09 && code <= 0x0d) ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

const isLineTerminator = (code: number) =>
  code === 0x0a || code === 0x0d || code === 0x2028 || code === 0x2029;

/** Whether `value[from, to)` is lower-case hex digits and, with `nonZero`, not all zeros. */
function isLowerHex(value: string, from: number, to: number, nonZero: boolean): boolean {
  let zero = true;
  for (let i = from; i < to; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      if (c !== 0x30) zero = false;
    } else if (c >= 0x61 && c <= LOWER_F) zero = false;
    else return false;
  }
  return !(nonZero && zero);
}

/** A lower-case hex digit's value (the flags were checked to be two). */
const hexDigit = (code: number) => (code <= 0x39 ? code - 0x30 : code - 0x57);

/**
 * A `traceparent` header's fields, or undefined when the OpenTelemetry W3C propagator would not take it
 * (the same acceptance, tested against it): `version-traceid-parentid-flags` in lower-case hex, version
 * not `ff`, ids not all zeros; a version after `00` may be followed by `-` and more (future fields);
 * one white-space character may stand before and after.
 */
export function parseTraceparent(value: string): Traceparent | undefined {
  const at = value.length > 0 && isPatternSpace(value.charCodeAt(0)) ? 1 : 0;
  const end = at + 55;
  if (value.length < end) return undefined;
  if (
    value.charCodeAt(at + 2) !== DASH ||
    value.charCodeAt(at + 35) !== DASH ||
    value.charCodeAt(at + 52) !== DASH
  )
    return undefined;
  if (!isLowerHex(value, at, at + 2, false)) return undefined;
  if (value.charCodeAt(at) === LOWER_F && value.charCodeAt(at + 1) === LOWER_F) return undefined;
  if (!isLowerHex(value, at + 3, at + 35, true) || !isLowerHex(value, at + 36, at + 52, true))
    return undefined;
  if (!isLowerHex(value, at + 53, end, false)) return undefined;
  if (end < value.length) {
    const next = value.charCodeAt(end);
    if (next === DASH) {
      // Future versions' fields: anything up to a line's end, which may only be the last character.
      if (value.charCodeAt(at) === 0x30 && value.charCodeAt(at + 1) === 0x30) return undefined;
      let i = end + 1;
      while (i < value.length && !isLineTerminator(value.charCodeAt(i))) i++;
      if (i < value.length - 1) return undefined;
    } else if (end !== value.length - 1 || !isPatternSpace(next)) return undefined;
  }
  return {
    traceId: value.slice(at + 3, at + 35),
    spanId: value.slice(at + 36, at + 52),
    traceFlags: (hexDigit(value.charCodeAt(at + 53)) << 4) | hexDigit(value.charCodeAt(at + 54)),
  };
}
