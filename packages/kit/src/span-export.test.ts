import { createRequire } from "node:module";
import {
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
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { ProtoWriter } from "./otlp-encode.js";
import { OtlpSpanProcessor } from "./span-export.js";

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

/** Spans of every shape the API allows, ended through `processor` and kept in memory too. */
function makeSpans(processor: OtlpSpanProcessor | undefined): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      "service.name": "gatehouse-test",
      "process.pid": 42,
      "host.name": "h",
    }),
    spanProcessors: [new SimpleSpanProcessor(memory), ...(processor ? [processor] : [])],
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
  return memory.getFinishedSpans();
}

function collectingProcessor(overrides: Partial<ConstructorParameters<typeof OtlpSpanProcessor>[0]> = {}) {
  const requests: Uint8Array[] = [];
  const losses: { reason: string; spans: number }[] = [];
  const processor = new OtlpSpanProcessor({
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
      w.hrTime(time);
      expect(w.view().readBigUInt64LE(0)).toBe(BigInt(time[0]) * 1_000_000_000n + BigInt(time[1]));
    }
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
