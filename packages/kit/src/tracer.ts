import { randomFillSync } from "node:crypto";
import {
  type Attributes,
  type AttributeValue,
  type Context,
  context as contextApi,
  type Exception,
  type Link,
  SamplingDecision,
  type Span,
  type SpanAttributes,
  type SpanContext,
  SpanKind,
  type SpanOptions,
  type SpanStatus,
  SpanStatusCode,
  type TimeInput,
  TraceFlags,
  type Tracer,
  type TracerOptions,
  type TracerProvider,
  type TraceState,
  trace,
} from "@opentelemetry/api";
import { isAttributeValue } from "@opentelemetry/core";
import type { Sampler } from "@opentelemetry/sdk-trace-base";
import { PropagatedSpan } from "./sync-context.js";

/*
 * The tracer Gatehouse records its spans with. It implements the OpenTelemetry API's TracerProvider,
 * Tracer and Span, so the code that makes spans uses the API as before, but a recording span is a
 * small flat object instead of the SDK's (about 25 fields, an attributes object checked with
 * `Object.keys` on every `setAttribute`, attributes sanitized into copies at start, three `HrTime`
 * arrays): in the gateway a span stays open for the whole call and everything it holds is copied
 * by the young-generation collections it lives through. Here a span holds its ids, its name, one
 * number per time and its attributes as one array of alternating keys and values; it is encoded to
 * OTLP protobuf by the span processor the moment it ends (otlp-encode.ts, span-export.ts) and then
 * let go.
 *
 * What the SDK does that this keeps: the sampler (the SDK's own samplers, from OTEL_TRACES_SAMPLER
 * and _ARG), span limits (OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT and the rest), parent/child and remote
 * parents, trace state, events, links, exceptions, status (an OK status is final), times given by
 * the caller. What it leaves out: span processors other than the one, `onStart` hooks, resource
 * detection (telemetry.ts builds the resource once).
 */

/** The limits a span keeps to (the OTel span limits; the defaults are the SDK's). */
export interface SpanLimits {
  attributeCountLimit: number;
  attributeValueLengthLimit: number;
  eventCountLimit: number;
  linkCountLimit: number;
  attributePerEventCountLimit: number;
  attributePerLinkCountLimit: number;
}

/** Where an ended, sampled span goes: the processor and the batch of its tracer's scope. */
export interface EndedSpanSink<Scope> {
  /** The batch a tracer's spans are written to (called once per tracer). */
  scope(name: string, version: string | undefined, schemaUrl: string | undefined): Scope;
  onEnd(span: GatehouseSpan, scope: Scope): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface TimedEventRecord {
  name: string;
  /** Milliseconds since the span's time base (as its start and end). */
  time: number;
  attributes: Attributes | undefined;
  droppedAttributesCount: number;
}

export interface LinkRecord {
  context: SpanContext;
  attributes: Attributes | undefined;
  droppedAttributesCount: number;
}

// ---------------------------------------------------------------------------------------------
// Ids: random bytes from a pooled buffer, refilled by the kernel's generator when used up, each id
// written as hex by one `String.fromCharCode` (a flat string of its own).
// Not a slice of the pool turned to hex at once: V8 makes such a slice a view that keeps the whole
// 16 KB string alive as long as any id cut from it, and ids live as long as their calls, so every
// pool string outlived young collections and was promoted (tracer.ids.test.ts).

const ID_POOL_BYTES = 8192;
const idPool = Buffer.allocUnsafe(ID_POOL_BYTES);
let idPos = ID_POOL_BYTES;
/** Character codes of the hex digits, by value. */
const HEX_DIGITS = new Uint8Array(16);
for (let i = 0; i < 16; i++) HEX_DIGITS[i] = "0123456789abcdef".charCodeAt(i);
const fromCharCode = String.fromCharCode;

/** Character codes of a span id's and a trace id's hex digits (reused: written, then read at once). */
const SPAN_ID_CODES = new Array<number>(16).fill(0);
const TRACE_ID_CODES = new Array<number>(32).fill(0);

/** `bytes` bytes of the pool from `p` as hex, one flat string. */
function hexOf(p: number, bytes: 8 | 16): string {
  const codes = bytes === 8 ? SPAN_ID_CODES : TRACE_ID_CODES;
  for (let i = 0; i < bytes; i++) {
    const b = idPool[p + i] as number;
    codes[2 * i] = HEX_DIGITS[b >> 4] as number;
    codes[2 * i + 1] = HEX_DIGITS[b & 15] as number;
  }
  return fromCharCode.apply(null, codes);
}

function randomHex(bytes: 8 | 16): string {
  for (;;) {
    if (idPos + bytes > ID_POOL_BYTES) {
      randomFillSync(idPool);
      idPos = 0;
    }
    const start = idPos;
    idPos += bytes;
    // An id of all zeros is invalid (W3C trace context); with 64 or 128 random bits it does not
    // happen, but the check is one pass over a few bytes.
    for (let i = start; i < idPos; i++) if (idPool[i] !== 0) return hexOf(start, bytes);
  }
}

// ---------------------------------------------------------------------------------------------
// Times: milliseconds from `performance.now()` (monotonic, sub-millisecond) against a wall-clock base
// compared with the clock at most once a second, so that a long-lived process follows the system clock
// as the SDK does. A span keeps the base it started with, so its duration is exact.
//
// A span's start is whole nanoseconds since its base: an integer below 2^30, which V8 stores in the
// span itself, where a fractional count of milliseconds was a heap number of its own per span, copied
// (and promoted) with it by every young collection while its call lasts. So a base is at most
// BASE_SPAN_MS old: past that the next span moves it forward by whole milliseconds, which changes no
// time (the wall-clock milliseconds and the `performance.now()` reading move together).

const BASE_REFRESH_MS = 1000;
/** How old a base may get before it is moved forward: 10^9 ns stays below 2^30 (V8's smallest small integer limit). */
const BASE_SPAN_MS = 1000;
/**
 * A time base: wall-clock milliseconds (an integer) and the `performance.now()` reading they stand
 * for. One object per base, shared by the spans started on it (a span holds it instead of two numbers
 * of its own).
 */
interface TimeBase {
  readonly epochMs: number;
  readonly perfAt: number;
}

let base: TimeBase = { epochMs: Date.now(), perfAt: performance.now() };
/** When the wall clock was last compared with the base. */
let checkedAt = base.perfAt;

function refreshBase(now: number): void {
  const age = now - base.perfAt;
  if (age >= BASE_SPAN_MS) {
    const moved = Math.floor(age);
    base = { epochMs: base.epochMs + moved, perfAt: base.perfAt + moved };
  }
  if (now - checkedAt < BASE_REFRESH_MS) return;
  checkedAt = now;
  const wall = Date.now();
  // `Date.now()` is whole milliseconds, up to 1 ms behind the time: a new base taken while the clock
  // still agrees with the old one would only move times by that much, back or forth, so that a
  // child span on the new base could end after its parent on the old one. The base moves when the
  // clock did.
  if (Math.abs(wall - (base.epochMs + (now - base.perfAt))) < 1) return;
  base = { epochMs: wall, perfAt: now };
}

/** Epoch milliseconds of a caller-given time (`Date`, epoch or `performance.now()` ms, `HrTime`). */
function epochMsOf(input: TimeInput): number {
  if (typeof input === "number") {
    // The SDK's rule: a number smaller than `performance.now()` is a `performance.now()` reading.
    return input <= performance.now() ? base.epochMs + (input - base.perfAt) : input;
  }
  if (input instanceof Date) return input.getTime();
  return input[0] * 1000 + input[1] / 1e6;
}

/**
 * Whether `input` is an `HrTime` of whole seconds and nanoseconds below a second: one that a span's
 * times can keep to the nanosecond, as the SDK's span keeps it. As epoch milliseconds (a double near
 * 1.7e12, whose last digit is 244 ns) its nanoseconds would be lost.
 */
function isExactHrTime(input: TimeInput): input is [number, number] {
  return (
    Array.isArray(input) &&
    Number.isSafeInteger(input[0]) &&
    Number.isInteger(input[1]) &&
    input[1] >= 0 &&
    input[1] < 1e9
  );
}

/** A caller-given time as milliseconds since `baseMs` (an `HrTime` exactly: its seconds against the base first). */
function msSince(baseMs: number, input: TimeInput): number {
  if (isExactHrTime(input)) return input[0] * 1000 - baseMs + input[1] / 1e6;
  return epochMsOf(input) - baseMs;
}

/**
 * `epochTimeOf`'s result: whole seconds and nanoseconds since the epoch, overwritten by every call
 * (the encoder reads them at once: no pair is allocated per time of every span).
 */
export const EPOCH_TIME = { seconds: 0, nanos: 0 };

/**
 * A time as whole seconds and nanoseconds since the epoch, from a span's integer millisecond base
 * and milliseconds since it, into `EPOCH_TIME`: exact to the nanosecond, without BigInt.
 */
export function epochTimeOf(baseMs: number, ms: number): void {
  let seconds = Math.floor(baseMs / 1000);
  const rest = baseMs - seconds * 1000 + ms;
  const extra = Math.floor(rest / 1000);
  seconds += extra;
  let nanos = Math.round((rest - extra * 1000) * 1e6);
  if (nanos >= 1e9) {
    seconds++;
    nanos -= 1e9;
  }
  EPOCH_TIME.seconds = seconds;
  EPOCH_TIME.nanos = nanos;
}

/** `epochTimeOf` as a pair. */
export function epochTime(baseMs: number, ms: number): [seconds: number, nanos: number] {
  epochTimeOf(baseMs, ms);
  return [EPOCH_TIME.seconds, EPOCH_TIME.nanos];
}

// ---------------------------------------------------------------------------------------------

function truncate(value: AttributeValue, limit: number): AttributeValue {
  if (typeof value === "string") return value.length > limit ? value.slice(0, limit) : value;
  if (Array.isArray(value))
    return value.map((v) =>
      typeof v === "string" && v.length > limit ? v.slice(0, limit) : v,
    ) as AttributeValue;
  return value;
}

/**
 * A value as a span keeps it: cut to the length limit, and an array the span's own, as the SDK's span
 * copies every array it is given: a caller's array changed later (after the span ended, before its
 * batch went out) changes no span. A frozen array cannot change and is kept as it is.
 */
function keptValue(value: AttributeValue, lengthLimit: number): AttributeValue {
  if (lengthLimit !== Number.POSITIVE_INFINITY) return truncate(value, lengthLimit);
  return Array.isArray(value) && !Object.isFrozen(value) ? (value.slice() as AttributeValue) : value;
}

/** Attributes of an event or link, copied within the limits; how many were left out. */
function limitedAttributes(
  attributes: Attributes | undefined,
  countLimit: number,
  lengthLimit: number,
): [Attributes | undefined, number] {
  if (attributes === undefined) return [undefined, 0];
  const kept: Attributes = {};
  let count = 0;
  let dropped = 0;
  for (const key in attributes) {
    const value = attributes[key];
    if (
      key.length === 0 ||
      !Object.hasOwn(attributes, key) ||
      !isAttributeValue(value) ||
      value === undefined
    )
      continue;
    if (count >= countLimit) {
      dropped++;
      continue;
    }
    kept[key] = keptValue(value, lengthLimit);
    count++;
  }
  return [kept, dropped];
}

/** The attributes of a span that has none yet: shared, never written (a span's first attribute replaces it). */
const NO_ATTRIBUTES = Object.freeze([]) as unknown as (string | AttributeValue | undefined)[];
/** `kindBits`' flag for a remote parent (above every `SpanKind`). */
const REMOTE_PARENT = 8;
/** `kindBits`' flag for a sampled span (its trace flags' SAMPLED bit). */
const SAMPLED = 16;
/** Entries a span's attribute array grows by: four attributes (a span sets a few at a time). */
const ATTRIBUTES_GROWTH = 8;

/**
 * Frozen start attributes already checked: how many they are when a span may keep them as they are
 * (every key and value one `setAttribute` would keep unchanged), -1 when not. A caller that passes the
 * same frozen object for every span has it checked once.
 */
const sharedCounts = new WeakMap<Attributes, number>();

function sharedCount(attributes: Attributes): number {
  const known = sharedCounts.get(attributes);
  if (known !== undefined) return known;
  let count = -1;
  const proto = Object.getPrototypeOf(attributes);
  if (Object.isFrozen(attributes) && (proto === Object.prototype || proto === null)) {
    count = 0;
    for (const key in attributes) {
      // An own data property: frozen fixes its value, not a getter's (read at the end, it could give
      // another or throw), nor an inherited key's.
      const property = Object.getOwnPropertyDescriptor(attributes, key);
      if (property === undefined || !("value" in property)) {
        count = -1;
        break;
      }
      const value = property.value;
      // As `setAttribute` keeps them: a key, and a value of a type the API allows.
      if (key.length === 0 || value === undefined || value === null || !isAttributeValue(value)) {
        count = -1;
        break;
      }
      // An array the caller may still change (frozen, the object leaves its arrays open): the span
      // keeps a copy of it, as of every array given to `setAttribute`.
      if (Array.isArray(value) && !Object.isFrozen(value)) {
        count = -1;
        break;
      }
      count++;
    }
  }
  sharedCounts.set(attributes, count);
  return count;
}

/** Whether a span may keep `attributes` by reference: frozen, valid, and within the limits as they are. */
function shareable(attributes: Attributes, limits: SpanLimits): boolean {
  if (limits.attributeValueLengthLimit !== Number.POSITIVE_INFINITY) return false;
  const count = sharedCount(attributes);
  return count > 0 && count <= limits.attributeCountLimit;
}

/** Frozen attributes found to extend a shared set (`extendsShared`), with that set: checked once per pair. */
const extended = new WeakMap<Attributes, Attributes>();

/**
 * Whether `next` begins with every attribute of `current`, in its order and with the same values,
 * and may be kept by reference: then it is what setting each of its attributes on a span holding
 * `current` would give (the others are new, after them), and it can take `current`'s place.
 */
function extendsShared(current: Attributes, next: Attributes, limits: SpanLimits): boolean {
  // The limits first, every time: they are the tracer's, and another tracer's may differ.
  if (!shareable(next, limits)) return false;
  if (extended.get(next) === current) return true;
  const keys = Object.keys(current);
  let i = 0;
  for (const key in next) {
    if (i === keys.length) break;
    if (key !== keys[i] || next[key] !== current[key]) return false;
    i++;
  }
  if (i < keys.length) return false;
  extended.set(next, current);
  return true;
}

/** What few spans have: events, links, an error's message, counts of what the limits dropped. */
interface RareParts {
  /** The trace state it was started with (a caller's `tracestate`, or a sampler's). */
  traceState: TraceState | undefined;
  statusCode: SpanStatusCode;
  droppedAttributes: number;
  statusMessage: string | undefined;
  events: TimedEventRecord[] | undefined;
  droppedEvents: number;
  links: LinkRecord[] | undefined;
  droppedLinks: number;
}

/**
 * A recording span. Its fields are read by the encoder when it ends (otlp-encode.ts `writeSpan`).
 * It lives as long as its call and every young-generation collection meanwhile copies it: what most
 * spans do not have is kept apart (`rare`), and its time base is shared with the spans started on it.
 */
export class GatehouseSpan implements Span {
  /**
   * Attribute keys and values, alternating, up to the first key that is undefined (a key appears once:
   * setting it again replaces its value; no count is kept: a field fewer per span). The array grows a
   * few attributes at a time, not by `push` (which leaves room for eight more at once): an open
   * span's spare room is copied by every young-generation collection it lives through, and usually
   * promoted with it.
   */
  attrs: (string | AttributeValue | undefined)[] = NO_ATTRIBUTES;
  /**
   * Attributes given at the start in a frozen object, kept by reference, before those of `attrs`
   * (`sharedAttributes`): a caller that gives every span the same few (the upstream client span) does
   * not have them copied into each span that waits for its upstream. Undefined when there are none, or
   * once one of them was set again (they are then copied into `attrs`, in their order).
   */
  shared: Attributes | undefined = undefined;
  /**
   * Whole nanoseconds since `baseMs` (the wall-clock base the span started with), at most 10^9: a
   * small integer, kept in the span rather than boxed (see "Times" above).
   */
  private readonly startNs: number;
  /**
   * Milliseconds since `baseMs` when the span ended; undefined while it is open. Not a number field
   * that starts at a placeholder: V8 would box that number for every span as it starts, and the box
   * would live (and be copied) as long as the span.
   */
  private endMs: number | undefined = undefined;
  private rare: RareParts | undefined = undefined;
  private readonly timeBase: TimeBase;
  /**
   * The kind, `REMOTE_PARENT` when the parent came from another process, and `SAMPLED`: one field for
   * the three.
   */
  private readonly kindBits: number;

  /**
   * The ids are fields of the span, not a `SpanContext` object it keeps: one object fewer per open span
   * for young collections to copy; `spanContext()` makes one when asked (twice or so per call, and
   * that object dies young).
   */
  constructor(
    private readonly tracer: GatehouseTracer<unknown>,
    readonly traceId: string,
    readonly spanId: string,
    sampled: boolean,
    traceState: TraceState | undefined,
    public name: string,
    kind: SpanKind,
    /** The parent's span id, when the span has a parent. */
    readonly parentSpanId: string | undefined,
    /** Whether that parent came from another process (a `traceparent`). */
    parentIsRemote: boolean,
    startTime: TimeInput | undefined,
  ) {
    // A kind outside the API's (a number from untyped code) is INTERNAL: its bits would otherwise
    // read as the flags' (a recorded-only span exported and propagated as sampled).
    const k = Number.isInteger(kind) && kind >= 0 && kind <= SpanKind.CONSUMER ? kind : SpanKind.INTERNAL;
    this.kindBits = k | (parentIsRemote ? REMOTE_PARENT : 0) | (sampled ? SAMPLED : 0);
    if (traceState !== undefined) this.rareParts().traceState = traceState;
    const now = performance.now();
    refreshBase(now);
    if (startTime === undefined) {
      this.timeBase = base;
      this.startNs = Math.round((now - base.perfAt) * 1e6);
    } else {
      // A time given by the caller may lie anywhere: the span gets a base of its own, the given time's
      // whole millisecond (on the same clock mapping as the current base), and starts within it.
      const given = epochMsOf(startTime);
      if (isExactHrTime(startTime)) {
        // Its whole milliseconds and the nanoseconds past them, as given (not through `given`).
        const inMs = Math.floor(startTime[1] / 1e6);
        const ms = startTime[0] * 1000 + inMs;
        this.timeBase = { epochMs: ms, perfAt: base.perfAt + (ms - base.epochMs) };
        this.startNs = startTime[1] - inMs * 1e6;
      } else if (Number.isFinite(given)) {
        const ms = Math.floor(given);
        this.timeBase = { epochMs: ms, perfAt: base.perfAt + (ms - base.epochMs) };
        this.startNs = Math.round((given - ms) * 1e6);
      } else {
        // Not a time (an invalid `Date`): the span's times are not numbers either, as before.
        this.timeBase = { epochMs: given, perfAt: Number.NaN };
        this.startNs = 0;
      }
    }
  }

  /** Milliseconds since `baseMs` when the span started. */
  get start(): number {
    return this.startNs / 1e6;
  }

  /** Milliseconds since `baseMs` when the span ended (read once `ended`; negative for a given time before the base). */
  get end_(): number {
    return this.endMs ?? -1;
  }

  get ended(): boolean {
    return this.endMs !== undefined;
  }

  get kind(): SpanKind {
    return this.kindBits & 7;
  }

  /** Whether the parent came from another process (a `traceparent`). */
  get parentIsRemote(): boolean {
    return (this.kindBits & REMOTE_PARENT) !== 0;
  }

  /** The span's trace flags: SAMPLED or NONE. */
  get traceFlags(): TraceFlags {
    return (this.kindBits & SAMPLED) !== 0 ? TraceFlags.SAMPLED : TraceFlags.NONE;
  }

  get traceState(): TraceState | undefined {
    return this.rare?.traceState;
  }

  /** UNSET until `setStatus` (kept with the rare parts: most spans never set one). */
  get statusCode(): SpanStatusCode {
    return this.rare?.statusCode ?? SpanStatusCode.UNSET;
  }

  /** Entries of `attrs` in use (twice the attributes). */
  get attrCount(): number {
    const attrs = this.attrs;
    let i = 0;
    while (i < attrs.length && attrs[i] !== undefined) i += 2;
    return i;
  }

  /** Wall-clock milliseconds (an integer) that the span's times count from. */
  get baseMs(): number {
    return this.timeBase.epochMs;
  }

  get droppedAttributes(): number {
    return this.rare?.droppedAttributes ?? 0;
  }

  get statusMessage(): string | undefined {
    return this.rare?.statusMessage;
  }

  get events(): TimedEventRecord[] | undefined {
    return this.rare?.events;
  }

  get droppedEvents(): number {
    return this.rare?.droppedEvents ?? 0;
  }

  get links(): LinkRecord[] | undefined {
    return this.rare?.links;
  }

  get droppedLinks(): number {
    return this.rare?.droppedLinks ?? 0;
  }

  private rareParts(): RareParts {
    if (this.rare === undefined)
      this.rare = {
        traceState: undefined,
        statusCode: SpanStatusCode.UNSET,
        droppedAttributes: 0,
        statusMessage: undefined,
        events: undefined,
        droppedEvents: 0,
        links: undefined,
        droppedLinks: 0,
      };
    return this.rare;
  }

  spanContext(): SpanContext {
    return {
      traceId: this.traceId,
      spanId: this.spanId,
      traceFlags: this.traceFlags,
      traceState: this.rare?.traceState,
    };
  }

  isRecording(): boolean {
    return !this.ended;
  }

  /** Sets an attribute (`value` of a type the API allows; others are ignored, as by the SDK). */
  setAttribute(key: string, value: SpanAttributes[string]): this {
    // A key is a non-empty string: another type from untyped code (a number, a symbol) has no length
    // the encoder could write, and would corrupt the span's encoding.
    if (this.ended || value === undefined || value === null || typeof key !== "string" || key.length === 0)
      return this;
    // Strings, numbers and booleans are valid as they are; anything else (an array, or a bigint, a
    // function or a symbol from untyped code) is checked, so that no value without an OTLP encoding is kept.
    const type = typeof value;
    if (type !== "string" && type !== "number" && type !== "boolean" && !isAttributeValue(value)) return this;
    const limits = this.tracer.limits;
    const v = keptValue(value, limits.attributeValueLengthLimit);
    if (this.shared !== undefined && Object.hasOwn(this.shared, key)) this.unshare();
    let attrs = this.attrs;
    let count = 0;
    for (; count < attrs.length; count += 2) {
      const k = attrs[count];
      if (k === undefined) break;
      if (k === key) {
        attrs[count + 1] = v;
        return this;
      }
    }
    const room =
      this.shared === undefined
        ? limits.attributeCountLimit
        : limits.attributeCountLimit - (sharedCounts.get(this.shared) ?? 0);
    if (count >= 2 * room) {
      this.rareParts().droppedAttributes++;
      return this;
    }
    if (count === attrs.length) {
      const grown = new Array<string | AttributeValue | undefined>(count + ATTRIBUTES_GROWTH);
      for (let i = 0; i < count; i++) grown[i] = attrs[i];
      this.attrs = attrs = grown;
    }
    attrs[count] = key;
    attrs[count + 1] = v;
    return this;
  }

  /** Copies the shared start attributes into `attrs`, ahead of those set since, and lets them go. */
  private unshare(): void {
    const shared = this.shared as Attributes;
    const later = this.attrs;
    const laterCount = this.attrCount;
    this.shared = undefined;
    this.attrs = NO_ATTRIBUTES;
    for (const key in shared) this.setAttribute(key, shared[key]);
    for (let i = 0; i < laterCount; i += 2) this.setAttribute(later[i] as string, later[i + 1]);
  }

  /** The span's attributes as one object, in their order (for tests and tools; the encoder reads the fields). */
  attributes(): Attributes {
    const out: Attributes = {};
    if (this.shared !== undefined) for (const key in this.shared) out[key] = this.shared[key];
    const count = this.attrCount;
    for (let i = 0; i < count; i += 2) out[this.attrs[i] as string] = this.attrs[i + 1];
    return out;
  }

  /** Sets each attribute; a frozen object given to a span without attributes of its own is kept by reference (`shared`). */
  setAttributes(attributes: SpanAttributes): this {
    // Kept by reference while the span has no attributes of its own: a first frozen object, or one
    // that extends the frozen object it holds (`dispatch.invoke`'s first attributes and then the
    // same with the provider's name).
    if (this.attrs[0] === undefined && !this.ended) {
      const limits = this.tracer.limits;
      const shared = this.shared;
      if (shared === undefined ? shareable(attributes, limits) : extendsShared(shared, attributes, limits)) {
        this.shared = attributes;
        return this;
      }
    }
    // Own keys only, as the SDK takes them (`Object.entries`): `for in` also walks the prototype's.
    for (const key in attributes) if (Object.hasOwn(attributes, key)) this.setAttribute(key, attributes[key]);
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.ended) return this;
    const limits = this.tracer.limits;
    const rare = this.rareParts();
    if (limits.eventCountLimit === 0) {
      rare.droppedEvents++;
      return this;
    }
    let attributes: Attributes | undefined;
    let at = time;
    if (
      attributesOrTime instanceof Date ||
      Array.isArray(attributesOrTime) ||
      typeof attributesOrTime === "number"
    )
      at = time ?? attributesOrTime; // given two times, the SDK's span takes the second
    else attributes = attributesOrTime;
    if (rare.events === undefined) rare.events = [];
    const events = rare.events;
    if (events.length >= limits.eventCountLimit) {
      events.shift(); // the SDK keeps the newest events
      rare.droppedEvents++;
    }
    const [kept, dropped] = limitedAttributes(
      attributes,
      limits.attributePerEventCountLimit,
      limits.attributeValueLengthLimit,
    );
    events.push({
      name,
      time: at === undefined ? performance.now() - this.timeBase.perfAt : msSince(this.baseMs, at),
      attributes: kept,
      droppedAttributesCount: dropped,
    });
    return this;
  }

  addLink(link: Link): this {
    if (this.ended) return this;
    const limits = this.tracer.limits;
    const rare = this.rareParts();
    if (rare.links === undefined) rare.links = [];
    const links = rare.links;
    if (links.length >= limits.linkCountLimit) {
      rare.droppedLinks++;
      return this;
    }
    const [kept, dropped] = limitedAttributes(
      link.attributes,
      limits.attributePerLinkCountLimit,
      limits.attributeValueLengthLimit,
    );
    links.push({ context: link.context, attributes: kept, droppedAttributesCount: dropped });
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (this.ended || this.statusCode === SpanStatusCode.OK || status.code === SpanStatusCode.UNSET)
      return this;
    const rare = this.rareParts();
    rare.statusCode = status.code;
    // A message belongs to an error status only (the specification's rule, as the SDK keeps it), and
    // only a string is one: anything else from untyped code is dropped (as the SDK drops it), keeping
    // the status, rather than failing the span's encoding and losing the span.
    const message = status.message;
    rare.statusMessage =
      status.code === SpanStatusCode.ERROR && typeof message === "string" ? message : undefined;
    return this;
  }

  updateName(name: string): this {
    if (!this.ended) this.name = name;
    return this;
  }

  end(endTime?: TimeInput): void {
    if (this.endMs !== undefined) return;
    const end =
      endTime === undefined ? performance.now() - this.timeBase.perfAt : msSince(this.baseMs, endTime);
    // An end before the start (a caller's clock) is recorded as a zero-length span, as the SDK does.
    this.endMs = Math.max(end, this.start);
    this.tracer.ended(this);
  }

  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === "string") attributes["exception.message"] = exception;
    else if (exception) {
      // Empty fields (a code of 0, a message of "") left out, as the SDK's span leaves them.
      if (exception.code) attributes["exception.type"] = String(exception.code);
      else if (exception.name) attributes["exception.type"] = exception.name;
      if (exception.message) attributes["exception.message"] = exception.message;
      if (exception.stack) attributes["exception.stacktrace"] = exception.stack;
    }
    if (!attributes["exception.type"] && !attributes["exception.message"]) return;
    this.addEvent("exception", attributes, time);
  }
}

/**
 * How spans are sampled: the `OTEL_TRACES_SAMPLER` choices. Parent-based sampling follows a valid
 * parent's sampled flag (as the SDK's ParentBasedSampler with its default delegates does, local or
 * remote parent alike); a span without one, or every span when not parent-based, takes `root`:
 * always, never, or the SDK's sampler (the trace-id ratio, so that every service keeps the same traces).
 */
export interface Sampling {
  parentBased: boolean;
  root: boolean | Sampler;
}

export class GatehouseTracer<Scope> implements Tracer {
  constructor(
    private readonly sink: EndedSpanSink<Scope>,
    private readonly batch: Scope,
    private readonly sampling: Sampling,
    readonly limits: SpanLimits,
  ) {}

  startSpan(name: string, options: SpanOptions = {}, context: Context = contextApi.active()): Span {
    let parent: SpanContext | undefined;
    if (!options.root) {
      const parentSpan = trace.getSpan(context);
      if (parentSpan !== undefined) {
        const candidate = parentSpan.spanContext();
        // A span of this tracer's, or a parent read by a validating parser, is valid by construction;
        // anything else (a remote parent from the propagator) is checked.
        if (
          parentSpan instanceof GatehouseSpan ||
          parentSpan instanceof PropagatedSpan ||
          trace.isSpanContextValid(candidate)
        )
          parent = candidate;
      }
    }
    const traceId = parent === undefined ? randomHex(16) : parent.traceId;
    const kind = options.kind ?? SpanKind.INTERNAL;
    let decision: SamplingDecision;
    let traceState = parent?.traceState;
    let samplerAttributes: Attributes | undefined;
    const { parentBased, root } = this.sampling;
    if (parent !== undefined && parentBased)
      decision =
        (parent.traceFlags & TraceFlags.SAMPLED) !== 0
          ? SamplingDecision.RECORD_AND_SAMPLED
          : SamplingDecision.NOT_RECORD;
    else if (typeof root === "boolean")
      decision = root ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD;
    else {
      const result = root.shouldSample(
        options.root ? trace.deleteSpan(context) : context,
        traceId,
        name,
        kind,
        options.attributes ?? {},
        options.links ?? [],
      );
      decision = result.decision;
      traceState = result.traceState ?? traceState;
      samplerAttributes = result.attributes;
    }
    const spanId = randomHex(8);
    if (decision === SamplingDecision.NOT_RECORD)
      return new PropagatedSpan({ traceId, spanId, traceFlags: TraceFlags.NONE, traceState });
    const span = new GatehouseSpan(
      this as GatehouseTracer<unknown>,
      traceId,
      spanId,
      decision === SamplingDecision.RECORD_AND_SAMPLED,
      traceState,
      name,
      kind,
      parent?.spanId,
      parent?.isRemote === true,
      options.startTime,
    );
    const attributes = options.attributes;
    // Kept by reference when frozen (setAttributes on a span without attributes), else copied.
    if (attributes !== undefined) span.setAttributes(attributes);
    if (samplerAttributes !== undefined) span.setAttributes(samplerAttributes);
    if (options.links !== undefined) span.addLinks(options.links);
    return span;
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    context: Context,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    a?: SpanOptions | F,
    b?: Context | F,
    c?: F,
  ): ReturnType<F> {
    const fn = (c ?? (typeof b === "function" ? b : a)) as F;
    const options = typeof a === "object" ? a : undefined;
    const parent = typeof b === "object" ? b : contextApi.active();
    const span = this.startSpan(name, options, parent);
    return contextApi.with(trace.setSpan(parent, span), fn as (span: Span) => ReturnType<F>, undefined, span);
  }

  /** Called by a span as it ends: a sampled span goes to the processor (an unsampled one records only). */
  ended(span: GatehouseSpan): void {
    if (span.traceFlags === TraceFlags.SAMPLED) this.sink.onEnd(span, this.batch);
  }
}

export class GatehouseTracerProvider<Scope> implements TracerProvider {
  private readonly tracers = new Map<string, GatehouseTracer<Scope>>();

  constructor(
    private readonly options: { sink: EndedSpanSink<Scope>; sampling: Sampling; limits: SpanLimits },
  ) {}

  getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
    const key = `${name}@${version ?? ""}:${options?.schemaUrl ?? ""}`;
    let tracer = this.tracers.get(key);
    if (tracer === undefined) {
      const { sink, sampling, limits } = this.options;
      tracer = new GatehouseTracer(sink, sink.scope(name, version, options?.schemaUrl), sampling, limits);
      this.tracers.set(key, tracer);
    }
    return tracer;
  }

  forceFlush(): Promise<void> {
    return this.options.sink.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.options.sink.shutdown();
  }
}

function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Span limits from the `OTEL_*` variables, defaulting as the SDK does. */
export function spanLimitsFromEnv(env: NodeJS.ProcessEnv): SpanLimits {
  const count = envNumber(env, "OTEL_ATTRIBUTE_COUNT_LIMIT") ?? 128;
  const length =
    envNumber(env, "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT") ??
    envNumber(env, "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT") ??
    Number.POSITIVE_INFINITY;
  return {
    attributeCountLimit: envNumber(env, "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT") ?? count,
    // 0 is no limit, as the SDK's span takes it (invalid, values kept whole), not every string cut to "".
    attributeValueLengthLimit: length > 0 ? length : Number.POSITIVE_INFINITY,
    eventCountLimit: envNumber(env, "OTEL_SPAN_EVENT_COUNT_LIMIT") ?? 128,
    linkCountLimit: envNumber(env, "OTEL_SPAN_LINK_COUNT_LIMIT") ?? 128,
    attributePerEventCountLimit: envNumber(env, "OTEL_SPAN_ATTRIBUTE_PER_EVENT_COUNT_LIMIT") ?? 128,
    attributePerLinkCountLimit: envNumber(env, "OTEL_SPAN_ATTRIBUTE_PER_LINK_COUNT_LIMIT") ?? 128,
  };
}

/**
 * The sampling `OTEL_TRACES_SAMPLER` (and `_ARG`) names, as the SDK reads them:
 * `parentbased_always_on` by default and for an unknown name; a ratio outside [0, 1] or missing is 1.
 */
export async function samplingFromEnv(env: NodeJS.ProcessEnv): Promise<Sampling> {
  const ratio = async (): Promise<Sampler> => {
    const { TraceIdRatioBasedSampler } = await import("@opentelemetry/sdk-trace-base");
    const value = envNumber(env, "OTEL_TRACES_SAMPLER_ARG");
    return new TraceIdRatioBasedSampler(value === undefined || value > 1 ? 1 : value);
  };
  switch (env.OTEL_TRACES_SAMPLER?.trim()) {
    case "always_on":
      return { parentBased: false, root: true };
    case "always_off":
      return { parentBased: false, root: false };
    case "parentbased_always_off":
      return { parentBased: true, root: false };
    case "traceidratio":
      return { parentBased: false, root: await ratio() };
    case "parentbased_traceidratio":
      return { parentBased: true, root: await ratio() };
    default:
      return { parentBased: true, root: true };
  }
}
