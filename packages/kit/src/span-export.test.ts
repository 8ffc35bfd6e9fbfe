import { createRequire } from "node:module";
import {
  type Attributes,
  type AttributeValue,
  type Context,
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from "@opentelemetry/api";
import { ExportResultCode, TraceState } from "@opentelemetry/core";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { ProtoWriter, type ScopeBatch } from "./otlp-encode.js";
import { OtlpSpanProcessor } from "./span-export.js";
import {
  type EndedSpanSink,
  epochTime,
  type GatehouseSpan,
  GatehouseTracerProvider,
  type SpanLimits,
  spanLimitsFromEnv,
} from "./tracer.js";

// The official OTLP definitions, as the SDK's own serializer uses them (protobufjs static code).
const require = createRequire(import.meta.url);
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root.js");
const RequestType = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

function decode(bytes: Uint8Array): unknown {
  return RequestType.toObject(RequestType.decode(bytes), {
    longs: String,
    bytes: String,
    defaults: true,
    arrays: true,
  });
}

const RESOURCE = resourceFromAttributes({
  "service.name": "gatehouse-test",
  "process.pid": 42,
  "host.name": "h",
});

/**
 * An ended span of Gatehouse's tracer as the SDK's `ReadableSpan`, so that the SDK's own serializer
 * can encode the same span for comparison.
 */
function readable(
  span: GatehouseSpan,
  scope: { name: string; version?: string; schemaUrl?: string },
): ReadableSpan {
  const startTime = epochTime(span.baseMs, span.start);
  const endTime = epochTime(span.baseMs, span.end_);
  const attributes = span.attributes();
  const parentSpanContext = span.parentSpanId
    ? {
        traceId: span.spanContext().traceId,
        spanId: span.parentSpanId,
        traceFlags: 0,
        isRemote: span.parentIsRemote,
      }
    : undefined;
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => span.spanContext(),
    parentSpanContext,
    startTime,
    endTime,
    status: { code: span.statusCode, ...(span.statusMessage ? { message: span.statusMessage } : {}) },
    attributes,
    links: (span.links ?? []).map((l) => ({
      context: l.context,
      ...(l.attributes ? { attributes: l.attributes } : {}),
      droppedAttributesCount: l.droppedAttributesCount,
    })),
    events: (span.events ?? []).map((e) => ({
      name: e.name,
      time: epochTime(span.baseMs, e.time),
      ...(e.attributes ? { attributes: e.attributes } : {}),
      droppedAttributesCount: e.droppedAttributesCount,
    })),
    duration: [0, 0],
    ended: true,
    resource: RESOURCE,
    instrumentationScope: scope,
    droppedAttributesCount: span.droppedAttributes,
    droppedEventsCount: span.droppedEvents,
    droppedLinksCount: span.droppedLinks,
  };
}

/**
 * Spans of every shape the API allows, made by Gatehouse's tracer and ended through `processor`
 * (the default sampler, parent-based always-on); each ended span is also kept as the SDK's
 * `ReadableSpan`.
 */
function makeSpans(processor: OtlpSpanProcessor, limits: SpanLimits = spanLimitsFromEnv({})): ReadableSpan[] {
  const ended: ReadableSpan[] = [];
  const scopes = new Map<ScopeBatch, { name: string; version?: string; schemaUrl?: string }>();
  const sink: EndedSpanSink<ScopeBatch> = {
    scope: (name, version, schemaUrl) => {
      const batch = processor.scope(name, version, schemaUrl);
      scopes.set(batch, { name, ...(version ? { version } : {}), ...(schemaUrl ? { schemaUrl } : {}) });
      return batch;
    },
    onEnd: (span, scope) => {
      ended.push(readable(span, scopes.get(scope) ?? { name: "?" }));
      processor.onEnd(span, scope);
    },
    forceFlush: () => processor.forceFlush(),
    shutdown: () => processor.shutdown(),
  };
  const provider = new GatehouseTracerProvider({
    sink,
    sampling: { parentBased: true, root: true },
    limits,
  });
  const ingress = provider.getTracer("gatehouse-ingress");
  const bus = provider.getTracer("gatehouse-bus", "1.2.3", {
    schemaUrl: "https://opentelemetry.io/schemas/1.30.0",
  });
  const remote: Context = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: "b7ad6b7169203331",
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: new TraceState("vendor=a,other=b"),
  });
  const server = ingress.startSpan(
    "POST /v1/chat/completions",
    {
      kind: SpanKind.SERVER,
      attributes: {
        "http.request.method": "POST",
        "http.route": "/v1/chat/completions",
        "gatehouse.request_id": "r".repeat(40),
      },
    },
    remote,
  );
  server.setAttribute("http.response.status_code", 200);
  server.setAttribute("gatehouse.principal.id", "ü-ñ-€-😀".repeat(30)); // multi-byte, past 128 bytes
  server.setAttribute("short", "ü€ x");
  server.setAttribute("negative", -5);
  server.setAttribute("big", 2 ** 53 - 1);
  server.setAttribute("double", 0.25);
  server.setAttribute("flag", false);
  server.setAttribute("empty", "");
  server.setAttribute("reasons", ["stop", "length"]);
  server.setAttribute("numbers", [1, 2.5, -3]);
  server.setAttribute("flags", [true, false]);
  server.addEvent("an event", { k: "v", n: 7 });
  const parent = trace.setSpan(ROOT_CONTEXT, server);
  const invoke = bus.startSpan(
    "dispatch.invoke",
    { attributes: { "gen_ai.operation.name": "chat", "gatehouse.stream": true } },
    parent,
  );
  invoke.setAttribute("gen_ai.usage.input_tokens", 12);
  invoke.setStatus({ code: SpanStatusCode.ERROR, message: "provider_error" });
  const client = ingress.startSpan(
    "POST",
    {
      kind: SpanKind.CLIENT,
      links: [{ context: server.spanContext(), attributes: { why: "a link" } }],
      attributes: { x: "y".repeat(300) },
    },
    trace.setSpan(ROOT_CONTEXT, invoke),
  );
  client.end();
  invoke.end();
  server.end();
  // A root span of its own trace, and one the sampler did not keep (never exported).
  context.with(ROOT_CONTEXT, () => ingress.startSpan("GET /healthz").end());
  ingress
    .startSpan(
      "unsampled",
      {},
      trace.setSpanContext(ROOT_CONTEXT, {
        traceId: "1af7651916cd43dd8448eb211c80319c",
        spanId: "c7ad6b7169203331",
        traceFlags: TraceFlags.NONE,
        isRemote: true,
      }),
    )
    .end();
  return ended;
}

function collectingProcessor(overrides: Partial<ConstructorParameters<typeof OtlpSpanProcessor>[0]> = {}) {
  const requests: Uint8Array[] = [];
  const losses: { reason: string; spans: number }[] = [];
  const processor = new OtlpSpanProcessor({
    resource: RESOURCE,
    send: (request, done) => {
      requests.push(Uint8Array.from(request));
      done({ code: ExportResultCode.SUCCESS });
    },
    maxExportBatchSize: 512,
    scheduledDelayMillis: 60_000,
    maxQueueSize: 2048,
    onLoss: (reason, spans) => losses.push({ reason, spans }),
    ...overrides,
  });
  return { processor, requests, losses };
}

/** A provider that records every span into `sink`, with the default limits. */
const alwaysOn = (sink: EndedSpanSink<ScopeBatch>) =>
  new GatehouseTracerProvider({
    sink,
    sampling: { parentBased: true, root: true },
    limits: spanLimitsFromEnv({}),
  });

describe("OtlpSpanProcessor", () => {
  it("sends what the SDK's own OTLP serializer sends, as the official definitions decode it", async () => {
    const { processor, requests } = collectingProcessor();
    const spans = makeSpans(processor);
    await processor.forceFlush();
    expect(requests).toHaveLength(1);
    const sampled = spans.filter((s) => s.spanContext().traceFlags & TraceFlags.SAMPLED);
    expect(sampled).toHaveLength(4);
    const official = ProtobufTraceSerializer.serializeRequest(sampled) as Uint8Array;
    expect(decode(requests[0] as Uint8Array)).toEqual(decode(official));
  });

  it("encodes short and long, ASCII and other keys and values, and integers at every varint length, as the SDK does", async () => {
    const { processor, requests } = collectingProcessor();
    const provider = alwaysOn(processor);
    const attributes: Attributes = {};
    for (const n of [
      0,
      1,
      0x7f,
      0x80,
      0x3fff,
      0x4000,
      0x1fffff,
      0x200000,
      0xfffffff,
      0x10000000,
      2 ** 31,
      2 ** 40,
    ])
      attributes[`int.${n}`] = n;
    for (const length of [0, 1, 50, 100, 119, 120, 121, 122, 127, 128, 300]) {
      attributes[`str.${length}`] = "v".repeat(length);
      attributes["k".repeat(length) || "empty-value"] = "";
    }
    attributes.ключ = "value";
    attributes.key = "значение";
    attributes["mixed.é"] = 7;
    attributes.negative = -1;
    attributes.fraction = 0.5;
    const span = provider.getTracer("t").startSpan("s", { attributes });
    span.end();
    await processor.forceFlush();
    const official = ProtobufTraceSerializer.serializeRequest([
      readable(span as unknown as GatehouseSpan, { name: "t" }),
    ]) as Uint8Array;
    expect(decode(requests[0] as Uint8Array)).toEqual(decode(official));
  });

  it("sends what the SDK sends for thousands of random spans: hostile strings, every integer size, keys set again", async () => {
    // A seeded generator: a failure reproduces. Keys come from a small set, so that a span sets a key
    // again (its value replaced) and spans in a row repeat keys and values.
    let seed = 0x9e3779b9;
    const random = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const CHARS = [
      "a",
      "Z",
      "0",
      ".",
      " ",
      '"',
      "\\",
      "\n",
      "\u0000",
      "\u007f",
      "é",
      "€",
      "😀",
      "ключ",
      "\u2028",
    ];
    const text = (max: number) => {
      const n = Math.floor(random() * max);
      let out = "";
      for (let i = 0; i < n; i++)
        out += random() < 0.8 ? "abcdefghij"[Math.floor(random() * 10)] : pick(CHARS);
      return out;
    };
    const values: (() => AttributeValue)[] = [
      () => pick(["POST", "chat", "echo", "mock-main", "/v1/chat/completions"]),
      () => text(40),
      () => text(300),
      () => pick([0, 1, 200, 404, 0x7f, 0x80, 0x3fff, 0x4000, 0xfffffff, 0x10000000, 2 ** 53 - 1]),
      // Integers within int64 (past it the SDK's encoding overflows: see the test after this one).
      () => Math.floor((random() - 0.5) * 2 ** (1 + Math.floor(random() * 63))),
      () => pick([-0, 0.5, -1.25, Number.NaN, Number.POSITIVE_INFINITY, -(2 ** 63)]),
      () => random() < 0.5,
      () => [pick(["stop", "length"]), text(8)],
      () => [1, random(), -3],
      () => [true, false],
    ];
    const keys = ["http.request.method", "gatehouse.account", "status", "k.é", "k".repeat(130), "x", "ключ"];
    const { processor, requests } = collectingProcessor({ maxExportBatchSize: 4096, maxQueueSize: 4096 });
    const ended: ReadableSpan[] = [];
    const sink: EndedSpanSink<ScopeBatch> = {
      scope: (name, version, schemaUrl) => processor.scope(name, version, schemaUrl),
      onEnd: (span, scope) => {
        ended.push(readable(span, { name: "random" }));
        processor.onEnd(span, scope);
      },
      forceFlush: () => processor.forceFlush(),
      shutdown: () => processor.shutdown(),
    };
    const tracer = alwaysOn(sink).getTracer("random");
    let extended = 0;
    for (let round = 0; round < 20; round++) {
      let parent: Context = ROOT_CONTEXT;
      for (let i = 0; i < 100; i++) {
        // Start attributes in a frozen object (kept by reference: `shared`) or a plain one (copied).
        const made: Attributes = {};
        const startCount = random() < 0.5 ? Math.floor(random() * 6) : 0;
        for (let a = 0; a < startCount; a++) made[pick(keys)] = pick(values)();
        const given = random() < 0.5 ? Object.freeze(made) : made;
        const span = tracer.startSpan(
          random() < 0.1 ? text(200) : pick(["POST", "dispatch.invoke", "POST /v1/chat/completions"]),
          {
            kind: pick([SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER]),
            attributes: given,
          },
          parent,
        );
        // A frozen start object extended (dispatch.invoke's provider name): put in its place, by reference.
        if (Object.isFrozen(given) && random() < 0.5) {
          const wider = Object.freeze({ ...given, "gen_ai.provider.name": text(12) });
          span.setAttributes(wider);
          if ((span as GatehouseSpan).shared === wider) extended++;
        }
        const count = Math.floor(random() * 12);
        for (let a = 0; a < count; a++) span.setAttribute(pick(keys), pick(values)());
        if (random() < 0.1) span.addEvent(text(20), { [pick(keys)]: pick(values)() });
        if (random() < 0.1) span.setStatus({ code: SpanStatusCode.ERROR, message: text(30) });
        span.end();
        parent = random() < 0.5 ? trace.setSpan(ROOT_CONTEXT, span) : ROOT_CONTEXT;
      }
    }
    await processor.forceFlush();
    expect(requests).toHaveLength(1);
    expect(ended).toHaveLength(2000);
    expect(extended).toBeGreaterThan(50);
    const official = ProtobufTraceSerializer.serializeRequest(ended) as Uint8Array;
    expect(decode(requests[0] as Uint8Array)).toEqual(decode(official));
  });

  it("leaves out an attribute whose key is not a string (untyped code), keeping the span's ids intact", async () => {
    // Such a key once reached the encoder: its length byte was NaN, written as 0, so the key-value's
    // bytes read as the span's own fields: an empty trace id and a span id of attribute bytes.
    const { processor, requests, losses } = collectingProcessor();
    const span = alwaysOn(processor).getTracer("t").startSpan("s");
    span.setAttribute(123 as unknown as string, "v");
    span.setAttribute(Symbol("k") as unknown as string, "v");
    span.setAttribute("ok", "fine");
    span.end();
    await processor.forceFlush();
    const sent = decode(requests[0] as Uint8Array) as {
      resourceSpans: {
        scopeSpans: { spans: { traceId: string; spanId: string; attributes: unknown[] }[] }[];
      }[];
    };
    const decoded = sent.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    const hex = (base64: string | undefined) => Buffer.from(base64 ?? "", "base64").toString("hex");
    expect(hex(decoded?.traceId)).toBe(span.spanContext().traceId);
    expect(hex(decoded?.spanId)).toBe(span.spanContext().spanId);
    expect(decoded?.attributes).toEqual([
      { key: "ok", value: expect.objectContaining({ stringValue: "fine" }) },
    ]);
    expect(losses).toEqual([]);
  });

  it("sends a value past 2^21 bytes (a four-byte length at every level around it), as the SDK does", async () => {
    const { processor, requests } = collectingProcessor();
    const span = alwaysOn(processor)
      .getTracer("t")
      .startSpan("s", { attributes: { big: "é".repeat(1_100_000), list: ["x".repeat(2_200_000), "y"] } });
    span.end();
    await processor.forceFlush();
    const official = ProtobufTraceSerializer.serializeRequest([
      readable(span as unknown as GatehouseSpan, { name: "t" }),
    ]) as Uint8Array;
    expect(requests[0]?.byteLength).toBeGreaterThan(2 ** 22);
    expect(decode(requests[0] as Uint8Array)).toEqual(decode(official));
  });

  it("drops and counts a span whose name is not a string (untyped code), its batch's buffer not grown", async () => {
    // Its length, NaN, once doubled the buffer for each such span before the write threw: twenty of
    // them made it 4 GB.
    const { processor, requests, losses } = collectingProcessor();
    const scopes: ScopeBatch[] = [];
    const tracer = alwaysOn({
      scope: (name, version, schemaUrl) => {
        const scope = processor.scope(name, version, schemaUrl);
        scopes.push(scope);
        return scope;
      },
      onEnd: (span, scope) => processor.onEnd(span, scope),
      forceFlush: () => processor.forceFlush(),
      shutdown: () => processor.shutdown(),
    }).getTracer("t");
    for (let i = 0; i < 20; i++) tracer.startSpan(200 as unknown as string).end();
    tracer.startSpan("fine").end();
    expect(scopes[0]?.spans.buf.length).toBe(16 * 1024);
    await processor.forceFlush();
    expect(losses).toEqual(Array.from({ length: 20 }, () => ({ reason: "export_failed", spans: 1 })));
    expect(requests).toHaveLength(1);
  });

  it("sends integers past int64's range as doubles, so that the request still decodes", async () => {
    const { processor, requests } = collectingProcessor();
    const provider = alwaysOn(processor);
    const values = {
      over: 1e22, // a token count from a misbehaving upstream, say
      max: Number.MAX_VALUE,
      edge: 2 ** 63,
      under: -(2 ** 64),
      lowest: -(2 ** 63), // still an int64
      list: [1e22, 3],
    };
    provider.getTracer("t").startSpan("s", { attributes: values }).end();
    await processor.forceFlush();
    const request = RequestType.toObject(RequestType.decode(requests[0] as Uint8Array), { longs: String });
    const attributes = request.resourceSpans[0].scopeSpans[0].spans[0].attributes;
    expect(attributes).toEqual([
      { key: "over", value: { doubleValue: 1e22 } },
      { key: "max", value: { doubleValue: Number.MAX_VALUE } },
      { key: "edge", value: { doubleValue: 2 ** 63 } },
      { key: "under", value: { doubleValue: -(2 ** 64) } },
      { key: "lowest", value: { intValue: String(-(2 ** 63)) } },
      { key: "list", value: { arrayValue: { values: [{ doubleValue: 1e22 }, { intValue: "3" }] } } },
    ]);
  });

  it("sends a full batch at once, and the rest on flush", async () => {
    const { processor, requests } = collectingProcessor({ maxExportBatchSize: 2 });
    makeSpans(processor);
    expect(requests).toHaveLength(2); // 4 sampled spans, 2 a batch: sent as they ended
    await processor.forceFlush();
    expect(requests).toHaveLength(2);
  });

  it("drops and counts spans past the queue's size while an export is in flight, then accepts again", async () => {
    const pending: (() => void)[] = [];
    const requests: Uint8Array[] = [];
    const losses: { reason: string; spans: number }[] = [];
    const processor = new OtlpSpanProcessor({
      resource: RESOURCE,
      send: (request, done) => {
        requests.push(request);
        pending.push(() => done({ code: ExportResultCode.SUCCESS }));
      },
      maxExportBatchSize: 2,
      scheduledDelayMillis: 60_000,
      maxQueueSize: 3,
      onLoss: (reason, spans) => losses.push({ reason, spans }),
    });
    makeSpans(processor); // 4 sampled: 2 sent (in flight), 1 waiting, 1 dropped
    expect(requests).toHaveLength(1);
    expect(losses).toEqual([{ reason: "queue_full", spans: 1 }]);
    const flushed = processor.forceFlush();
    pending.shift()?.();
    expect(requests).toHaveLength(2);
    pending.shift()?.();
    await flushed;
    makeSpans(processor);
    await Promise.resolve();
    expect(requests.length).toBeGreaterThan(2);
  });

  it("sends a batch once the queue is full when the queue is smaller than a batch", async () => {
    const { processor, requests, losses } = collectingProcessor({ maxExportBatchSize: 512, maxQueueSize: 3 });
    makeSpans(processor); // 4 sampled: 3 fill the queue and go out, the 4th waits
    expect(requests).toHaveLength(1);
    expect(losses).toEqual([]);
    await processor.forceFlush();
    expect(requests).toHaveLength(2);
  });

  it("counts the spans of a failed export as lost", async () => {
    const { processor, losses } = collectingProcessor({
      send: (_request, done) => done({ code: ExportResultCode.FAILED, error: new Error("503") }),
    });
    makeSpans(processor);
    await processor.shutdown();
    expect(losses).toEqual([{ reason: "export_failed", spans: 4 }]);
  });

  it("goes on after a transport that throws instead of calling back", async () => {
    let calls = 0;
    const { processor, losses } = collectingProcessor({
      maxExportBatchSize: 2,
      send: (_request, done) => {
        calls++;
        if (calls === 1) throw new Error("socket gone");
        done({ code: ExportResultCode.SUCCESS });
      },
    });
    makeSpans(processor);
    await processor.forceFlush();
    expect(calls).toBe(2);
    expect(losses).toEqual([{ reason: "export_failed", spans: 2 }]);
  });

  it("sends what is left on shutdown, and nothing after", async () => {
    const { processor, requests } = collectingProcessor({ scheduledDelayMillis: 3_600_000 });
    makeSpans(processor);
    expect(requests).toHaveLength(0);
    await processor.shutdown();
    expect(requests).toHaveLength(1);
    makeSpans(processor);
    await processor.forceFlush();
    expect(requests).toHaveLength(1);
  });

  it("sends spans that end while shutdown's flush is out, before it stops", async () => {
    const requests: Uint8Array[] = [];
    let late: (() => void) | undefined;
    const processor = new OtlpSpanProcessor({
      resource: RESOURCE,
      send: (request, done) => {
        requests.push(request);
        // The export takes a while; a call still finishing ends its span meanwhile.
        setTimeout(() => {
          late?.();
          late = undefined;
          done({ code: ExportResultCode.SUCCESS });
        }, 5);
      },
      maxExportBatchSize: 512,
      scheduledDelayMillis: 3_600_000,
      maxQueueSize: 2048,
    });
    const tracer = alwaysOn(processor).getTracer("t");
    tracer.startSpan("first").end();
    const straggler = tracer.startSpan("late");
    late = () => straggler.end();
    await processor.shutdown();
    expect(requests).toHaveLength(2);
    const names = requests.map(
      (r) => RequestType.decode(r).resourceSpans[0].scopeSpans[0].spans[0].name as string,
    );
    expect(names).toEqual(["first", "late"]);
  });

  it("sends a span whose status message is not a string, with its status and without the message", async () => {
    const { processor, requests, losses } = collectingProcessor();
    const tracer = alwaysOn(processor).getTracer("t");
    const span = tracer.startSpan("s");
    // Untyped code (a caught error's code, say) handing over a number.
    span.setStatus({ code: SpanStatusCode.ERROR, message: 503 as unknown as string });
    span.end();
    await processor.forceFlush();
    expect(losses).toEqual([]);
    const sent = RequestType.decode(requests[0] as Uint8Array).resourceSpans[0].scopeSpans[0].spans[0];
    expect(sent.status.code).toBe(SpanStatusCode.ERROR);
    expect(sent.status.message ?? "").toBe("");
  });

  it("gives back the memory of a burst of large spans once batches are small again", async () => {
    const { processor, requests } = collectingProcessor();
    const scope = processor.scope("burst", undefined, undefined);
    const tracer = alwaysOn({
      scope: () => scope,
      onEnd: (span, batch) => processor.onEnd(span, batch),
      forceFlush: () => processor.forceFlush(),
      shutdown: () => processor.shutdown(),
    }).getTracer("burst");
    const initial = scope.spans.buf.length;
    for (let i = 0; i < 8; i++)
      tracer.startSpan("big", { attributes: { blob: "x".repeat(256 * 1024) } }).end();
    await processor.forceFlush();
    expect(scope.spans.buf.length).toBeGreaterThan(2 * 1024 * 1024);
    tracer.startSpan("small").end();
    await processor.forceFlush();
    expect(requests).toHaveLength(2);
    expect(scope.spans.buf.length).toBe(initial);
  });

  it("sends a batch after the scheduled delay", async () => {
    const { processor, requests } = collectingProcessor({ scheduledDelayMillis: 20 });
    makeSpans(processor);
    const deadline = Date.now() + 5_000;
    while (requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(requests).toHaveLength(1);
  });
});

describe("ProtoWriter", () => {
  it("writes times as exact fixed64 nanoseconds", () => {
    for (const time of [
      [0, 0],
      [1, 999_999_999],
      [1_764_470_400, 123_456_789],
      [4_294_967_295, 999_999_999],
    ] as [number, number][]) {
      const w = new ProtoWriter(4);
      w.time(time[0], time[1]);
      expect(w.view().readBigUInt64LE(0)).toBe(BigInt(time[0]) * 1_000_000_000n + BigInt(time[1]));
    }
  });

  it("writes a time before the epoch (a caller's given time) as int64 nanoseconds in two's complement, as the SDK does", () => {
    // Not 2^32 ns (4.3 s) earlier: the split of the seconds' product into 16-bit halves has to floor for
    // negative seconds too.
    for (const time of [
      [-1, 995_000_000],
      [-5, 0],
      [-1_700_000_000, 123],
      [-65_536, 1],
    ] as [number, number][]) {
      const w = new ProtoWriter(4);
      w.time(time[0], time[1]);
      expect(w.view().readBigUInt64LE(0)).toBe(
        BigInt.asUintN(64, BigInt(time[0]) * 1_000_000_000n + BigInt(time[1])),
      );
    }
  });

  it("shrinks back on reset when what it held was a small part of its buffer, and keeps a steady size", () => {
    const w = new ProtoWriter(1024);
    w.raw(new Uint8Array(100_000));
    w.reset(); // a burst: kept while it is the last thing written
    expect(w.buf.length).toBe(128 * 1024);
    w.raw(new Uint8Array(3000));
    w.reset();
    expect(w.buf.length).toBe(4096);
    w.raw(new Uint8Array(3000));
    w.reset();
    expect(w.buf.length).toBe(4096);
  });

  it("moves a nested message's content when its length needs more than one byte", () => {
    const w = new ProtoWriter(4);
    const at = w.begin(1);
    w.string(1, "x".repeat(20_000));
    w.end(at);
    const decoded = root.opentelemetry.proto.common.v1.InstrumentationScope.decode(
      // field 1 of a wrapper: skip its tag and length to the scope itself
      w.view().subarray(1 + 3),
    );
    expect(decoded.name).toBe("x".repeat(20_000));
  });
});
