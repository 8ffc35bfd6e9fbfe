import type { Attributes, AttributeValue } from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import { EPOCH_TIME, epochTimeOf, type GatehouseSpan, type TimedEventRecord } from "./tracer.js";

/*
 * OTLP protobuf (opentelemetry/proto/trace/v1/trace.proto, collector/trace/v1) written straight from
 * Gatehouse's ended spans (tracer.ts) into a growing byte buffer. The SDK's own exporter first builds
 * an object tree per span (otlp-transformer) and then protobufjs builds a linked list of write
 * operations per field of it: several hundred short-lived objects per span, and it keeps the spans
 * alive until the batch is sent. Here a span is bytes the moment it ends. The output is the same
 * message: the tests decode it with the official definitions (otlp-transformer's generated code) and
 * compare it with what the SDK's serializer makes of the same spans.
 */

const LEN = 2;
const VARINT = 0;
const I64 = 1;
const I32 = 5;

/** `SpanFlags`: the low byte is the W3C trace flags; these say whether the parent was remote. */
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

/** Hex digit values by character code (ids are lower-case hex; upper case is accepted too). */
const HEX = new Uint8Array(128);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[97 + i] = 10 + i;
  HEX[65 + i] = 10 + i;
}

/** A byte's value by its two hex digits' character codes (each below 128), `(high << 7) | low`. */
const HEX_PAIR = new Uint8Array(128 * 128);
for (let high = 0; high < 128; high++)
  for (let low = 0; low < 128; low++)
    HEX_PAIR[(high << 7) | low] = ((HEX[high] as number) << 4) | (HEX[low] as number);

/** How much larger than what was written before a `reset` a writer's buffer may stay. */
const SHRINK_FACTOR = 4;

/**
 * A protobuf writer over one reused buffer that grows (doubling) as needed, and shrinks back on
 * `reset` when what was written was a small part of it: a burst of large spans does not hold its
 * memory for the life of the process.
 */
export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(private readonly initialBytes = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /**
   * Starts over. A buffer more than SHRINK_FACTOR times larger than what was written (and than its
   * initial size) is replaced by one that would have held it: steady batches keep theirs, the
   * first ordinary batch after a burst gives the burst's back.
   */
  reset(): void {
    const used = this.pos;
    this.pos = 0;
    if (this.buf.length <= SHRINK_FACTOR * Math.max(used, this.initialBytes)) return;
    let size = Math.max(this.initialBytes, 64);
    while (size < used) size *= 2;
    this.buf = Buffer.allocUnsafe(size);
  }

  /** The bytes written so far (a view: valid until the next write or reset). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  ensure(bytes: number): void {
    const need = this.pos + bytes;
    if (need <= this.buf.length) return;
    // NaN (a length of what is not a string, from untyped code) would double the buffer every time
    // before the write failed; past 4 GB no Buffer is made either.
    if (!(need <= 2 ** 32)) throw new RangeError(`cannot hold ${bytes} more bytes`);
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** A non-negative integer up to 2^53 as a varint. */
  varint(value: number): void {
    this.ensure(10);
    const buf = this.buf;
    let v = value;
    let p = this.pos;
    while (v > 0x7f) {
      buf[p++] = (v & 0x7f) | 0x80;
      v = v > 0x7fffffff ? Math.floor(v / 128) : v >>> 7;
    }
    buf[p++] = v;
    this.pos = p;
  }

  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  /** A signed integer as protobuf's int64 (negative numbers take ten bytes, as the spec says). */
  int64(value: number): void {
    if (value >= 0) {
      this.varint(value);
      return;
    }
    let v = BigInt.asUintN(64, BigInt(value));
    this.ensure(10);
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  fixed32(value: number): void {
    this.ensure(4);
    this.pos = this.uint32(value, this.pos);
  }

  /** Four little-endian bytes at `at` (room checked by the caller), stored one by one: no call into Buffer's checks. */
  private uint32(value: number, at: number): number {
    const buf = this.buf;
    const v = value >>> 0;
    buf[at] = v & 0xff;
    buf[at + 1] = (v >>> 8) & 0xff;
    buf[at + 2] = (v >>> 16) & 0xff;
    buf[at + 3] = v >>> 24;
    return at + 4;
  }

  double(value: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /** Seconds and nanoseconds since the epoch as fixed64 nanoseconds, exactly, without BigInt. */
  time(seconds: number, nanos: number): void {
    // seconds * 1e9 + nanos, where 1e9 = 15258 * 2^16 + 51712: every product below stays under 2^53.
    // high16 is split by flooring (not `%`, which truncates): a time before the epoch is then int64's
    // two's complement, as the SDK writes it, not 2^32 ns earlier.
    const high16 = seconds * 15258;
    const low = seconds * 51712 + nanos;
    const high = Math.floor(high16 / 65536);
    const x = (high16 - high * 65536) * 65536 + low;
    this.ensure(8);
    const at = this.uint32(x % 4294967296, this.pos);
    this.pos = this.uint32(high + Math.floor(x / 4294967296), at);
  }

  /**
   * Starts a length-delimited field whose length is not known yet: one byte is reserved for it, as
   * nearly every nested message here is shorter than 128 bytes; `end` moves the content when not.
   */
  begin(field: number): number {
    this.tag(field, LEN);
    this.ensure(1);
    return this.pos++;
  }

  end(at: number): void {
    const length = this.pos - at - 1;
    if (length < 0x80) {
      this.buf[at] = length;
      return;
    }
    const extra = varintSize(length) - 1;
    this.ensure(extra);
    this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
    this.pos += extra;
    const end = this.pos;
    this.pos = at;
    this.varint(length);
    this.pos = end;
  }

  string(field: number, value: string): void {
    this.tag(field, LEN);
    const n = value.length;
    // UTF-8 takes at most 3 bytes per UTF-16 unit; the length is written in front once known.
    this.ensure(n * 3 + 5);
    const buf = this.buf;
    if (n < 0x80) {
      // Short ASCII (nearly every key and value here): copied in place, no call into the runtime.
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = start + n;
        return;
      }
    }
    const at = this.pos++;
    this.pos += buf.write(value, this.pos, "utf8");
    this.end(at);
  }

  /** A trace or span id given in hex, as its bytes. */
  hexBytes(field: number, hex: string): void {
    this.tag(field, LEN);
    const length = hex.length >>> 1;
    this.varint(length);
    this.ensure(length);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < length; i++) {
      const high = hex.charCodeAt(2 * i);
      const low = hex.charCodeAt(2 * i + 1);
      // One table read per byte; a character past ASCII (no id has one) counts as 0, as before.
      buf[p++] =
        (high | low) < 0x80
          ? (HEX_PAIR[(high << 7) | low] as number)
          : ((HEX[high] ?? 0) << 4) | (HEX[low] ?? 0);
    }
    this.pos = p;
  }

  bytes(field: number, value: Uint8Array): void {
    this.tag(field, LEN);
    this.varint(value.byteLength);
    this.ensure(value.byteLength);
    this.buf.set(value, this.pos);
    this.pos += value.byteLength;
  }

  /** Bytes that are already a complete encoding of a field (or several). */
  raw(value: Uint8Array): void {
    this.ensure(value.byteLength);
    this.buf.set(value, this.pos);
    this.pos += value.byteLength;
  }
}

export function varintSize(value: number): number {
  let size = 1;
  let v = value;
  while (v > 0x7f) {
    v = Math.floor(v / 128);
    size++;
  }
  return size;
}

/** 2^63: int64's magnitude limit. */
const INT64_LIMIT = 2 ** 63;

/** `AnyValue`'s fields (common/v1/common.proto). */
function anyValue(w: ProtoWriter, value: AttributeValue | Uint8Array | object | null | undefined): void {
  switch (typeof value) {
    case "string":
      w.string(1, value);
      return;
    case "boolean":
      w.tag(2, VARINT);
      w.varint(value ? 1 : 0);
      return;
    case "number":
      // int64 holds [-2^63, 2^63): an integer past that (1e22 is one) is sent as a double, as a
      // varint of it would not decode and would take the whole request down with it.
      if (Number.isInteger(value) && value >= -INT64_LIMIT && value < INT64_LIMIT) {
        w.tag(3, VARINT);
        w.int64(value);
      } else {
        w.tag(4, I64);
        w.double(value);
      }
      return;
    case "object": {
      if (value === null) return;
      if (value instanceof Uint8Array) {
        w.bytes(7, value);
        return;
      }
      if (Array.isArray(value)) {
        const array = w.begin(5);
        for (const item of value as unknown[]) {
          const at = w.begin(1);
          anyValue(w, item as AttributeValue);
          w.end(at);
        }
        w.end(array);
        return;
      }
      const list = w.begin(6);
      for (const [key, item] of Object.entries(value)) keyValue(w, 1, key, item as AttributeValue);
      w.end(list);
      return;
    }
    default:
      return;
  }
}

/**
 * A `KeyValue` of a short ASCII key and a short ASCII string or a small non-negative integer, nearly
 * every attribute here, written in one pass with one bounds check and its lengths known up front
 * (each a single byte); false, having written nothing, for anything else.
 */
function shortKeyValue(
  w: ProtoWriter,
  field: number,
  key: string,
  value: AttributeValue | undefined,
): boolean {
  const kl = key.length;
  let size: number; // of the AnyValue
  if (typeof value === "string") size = 2 + value.length;
  else if (typeof value === "number" && value >= 0 && value < 0x10000000 && Number.isInteger(value))
    size = value < 0x80 ? 2 : value < 0x4000 ? 3 : value < 0x200000 ? 4 : 5;
  else return false;
  const inner = 2 + kl + 2 + size;
  // Field numbers here are below 16 (a one-byte tag); every length must fit in one byte.
  if (inner >= 0x80 || field >= 16) return false;
  w.ensure(inner + 2);
  const buf = w.buf;
  let p = w.pos;
  buf[p++] = (field << 3) | LEN;
  buf[p++] = inner;
  buf[p++] = 0x0a; // KeyValue.key
  buf[p++] = kl;
  for (let i = 0; i < kl; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return false; // nothing counted yet: `pos` was not moved
    buf[p++] = c;
  }
  buf[p++] = 0x12; // KeyValue.value
  buf[p++] = size;
  if (typeof value === "string") {
    buf[p++] = 0x0a; // AnyValue.string_value
    buf[p++] = value.length;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[p++] = c;
    }
  } else {
    buf[p++] = 0x18; // AnyValue.int_value
    let v = value as number;
    while (v > 0x7f) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p++] = v;
  }
  w.pos = p;
  return true;
}

function keyValue(w: ProtoWriter, field: number, key: string, value: AttributeValue | undefined): void {
  if (shortKeyValue(w, field, key, value)) return;
  const at = w.begin(field);
  w.string(1, key);
  const v = w.begin(2);
  anyValue(w, value);
  w.end(v);
  w.end(at);
}

function attributes(w: ProtoWriter, field: number, attrs: Attributes): void {
  for (const key in attrs) keyValue(w, field, key, attrs[key]);
}

function droppedCount(w: ProtoWriter, field: number, count: number | undefined): void {
  if (count) {
    w.tag(field, VARINT);
    w.varint(count);
  }
}

function spanFlags(traceFlags: number, isRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | HAS_IS_REMOTE | (isRemote ? IS_REMOTE : 0);
}

/** A time of a span (milliseconds since its base) as fixed64 epoch nanoseconds. */
function spanTime(w: ProtoWriter, field: number, baseMs: number, ms: number): void {
  epochTimeOf(baseMs, ms);
  w.tag(field, I64);
  w.time(EPOCH_TIME.seconds, EPOCH_TIME.nanos);
}

function event(w: ProtoWriter, baseMs: number, e: TimedEventRecord): void {
  const at = w.begin(11);
  spanTime(w, 1, baseMs, e.time);
  w.string(2, e.name);
  if (e.attributes) attributes(w, 3, e.attributes);
  droppedCount(w, 4, e.droppedAttributesCount);
  w.end(at);
}

/** One `Span` message, as field `field` (ScopeSpans.spans is 2) of the message being written. */
export function writeSpan(w: ProtoWriter, field: number, span: GatehouseSpan): void {
  const at = w.begin(field);
  w.hexBytes(1, span.traceId);
  w.hexBytes(2, span.spanId);
  const traceState = span.traceState?.serialize();
  if (traceState) w.string(3, traceState);
  if (span.parentSpanId) w.hexBytes(4, span.parentSpanId);
  w.string(5, span.name);
  w.tag(6, VARINT);
  w.varint(span.kind + 1); // the API has no UNSPECIFIED: its kinds are the proto's minus one
  spanTime(w, 7, span.baseMs, span.start);
  spanTime(w, 8, span.baseMs, span.end_);
  const shared = span.shared;
  if (shared !== undefined) for (const key in shared) keyValue(w, 9, key, shared[key]);
  const attrs = span.attrs;
  for (let i = 0; i < attrs.length; i += 2) {
    const key = attrs[i];
    if (key === undefined) break; // past the last attribute (the array keeps room for more)
    keyValue(w, 9, key as string, attrs[i + 1]);
  }
  droppedCount(w, 10, span.droppedAttributes);
  if (span.events) for (const e of span.events) event(w, span.baseMs, e);
  droppedCount(w, 12, span.droppedEvents);
  if (span.links)
    for (const link of span.links) {
      const l = w.begin(13);
      w.hexBytes(1, link.context.traceId);
      w.hexBytes(2, link.context.spanId);
      const linkState = link.context.traceState?.serialize();
      if (linkState) w.string(3, linkState);
      if (link.attributes) attributes(w, 4, link.attributes);
      droppedCount(w, 5, link.droppedAttributesCount);
      w.tag(6, I32);
      w.fixed32(spanFlags(link.context.traceFlags, link.context.isRemote));
      w.end(l);
    }
  droppedCount(w, 14, span.droppedLinks);
  const status = w.begin(15);
  if (span.statusMessage) w.string(2, span.statusMessage);
  if (span.statusCode) {
    w.tag(3, VARINT);
    w.varint(span.statusCode);
  }
  w.end(status);
  w.tag(16, I32);
  w.fixed32(spanFlags(span.traceFlags, span.parentIsRemote));
  w.end(at);
}

/** `Resource` as field 1 of `ResourceSpans`, encoded once per resource. */
export function encodeResource(resource: Resource): Buffer {
  const w = new ProtoWriter(1024);
  const at = w.begin(1);
  attributes(w, 1, resource.attributes);
  w.end(at);
  if (resource.schemaUrl) w.string(3, resource.schemaUrl);
  return Buffer.from(w.view());
}

/** `InstrumentationScope` as field 1 of `ScopeSpans` (and its schema URL, field 3), encoded once per scope. */
export function encodeScope(scope: {
  name: string;
  version?: string | undefined;
  schemaUrl?: string | undefined;
}): Buffer {
  const w = new ProtoWriter(256);
  const at = w.begin(1);
  w.string(1, scope.name);
  if (scope.version) w.string(2, scope.version);
  w.end(at);
  if (scope.schemaUrl) w.string(3, scope.schemaUrl);
  return Buffer.from(w.view());
}

/** What one `ScopeSpans` holds: its encoded scope and the spans written so far (each a `spans` field). */
export interface ScopeBatch {
  scope: Buffer;
  spans: ProtoWriter;
}

/** What one `ResourceSpans` holds. */
export interface ResourceBatch {
  resource: Buffer;
  scopes: ScopeBatch[];
}

/**
 * An `ExportTraceServiceRequest` from the encoded parts, in one buffer of its exact size. The resource
 * bytes above hold field 1 (and the schema URL as field 3, which may follow the scopes in the wire
 * format: protobuf fields may come in any order).
 */
export function encodeRequest(resources: ResourceBatch[]): Buffer {
  let total = 0;
  const sizes: number[] = [];
  for (const r of resources) {
    let size = r.resource.byteLength;
    for (const s of r.scopes) {
      if (s.spans.pos === 0) continue;
      const scopeSize = s.scope.byteLength + s.spans.pos;
      sizes.push(scopeSize);
      size += 1 + varintSize(scopeSize) + scopeSize;
    }
    sizes.push(size);
    total += 1 + varintSize(size) + size;
  }
  const w = new ProtoWriter(total);
  let i = 0;
  for (const r of resources) {
    // Sizes were pushed scope by scope, then the resource's: read them in the same order.
    const scopeSizes: number[] = [];
    for (const s of r.scopes) if (s.spans.pos !== 0) scopeSizes.push(sizes[i++] as number);
    w.tag(1, LEN);
    w.varint(sizes[i++] as number);
    w.raw(r.resource);
    let j = 0;
    for (const s of r.scopes) {
      if (s.spans.pos === 0) continue;
      w.tag(2, LEN);
      w.varint(scopeSizes[j++] as number);
      w.raw(s.scope);
      w.raw(s.spans.view());
    }
  }
  return w.buf.subarray(0, w.pos);
}
