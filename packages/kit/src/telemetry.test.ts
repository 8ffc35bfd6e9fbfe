import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import { afterAll, describe, expect, it } from "vitest";
import { startTelemetry } from "./telemetry.js";

const require = createRequire(import.meta.url);
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root.js");
const RequestType = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

interface Received {
  path: string | undefined;
  contentType: string | undefined;
  body: Buffer;
}

const received: Received[] = [];
const collector = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    received.push({ path: req.url, contentType: req.headers["content-type"], body: Buffer.concat(chunks) });
    res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
  });
});
await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/`;

afterAll(() => new Promise<void>((resolve) => collector.close(() => resolve())));

describe("startTelemetry", () => {
  it("exports every span as OTLP/HTTP protobuf on shutdown, with the service's resource and nothing else", async () => {
    const telemetry = await startTelemetry({
      serviceName: "gatehouse-test",
      otlpEndpoint: endpoint,
      env: {},
    });
    const tracer = trace.getTracer("gatehouse-ingress");
    const server = tracer.startSpan("POST /v1/chat/completions", { kind: SpanKind.SERVER });
    const carrier: Record<string, string> = {};
    context.with(trace.setSpan(context.active(), server), () =>
      propagation.inject(context.active(), carrier),
    );
    for (let i = 0; i < 10; i++)
      tracer.startSpan(`child ${i}`, {}, trace.setSpan(context.active(), server)).end();
    server.end();
    expect(received).toHaveLength(0); // batched: nothing is sent per span
    await telemetry.shutdown();

    // W3C trace context only: the caller's baggage is not ours to carry on.
    expect(Object.keys(carrier)).toEqual(["traceparent"]);
    expect(received.map((r) => [r.path, r.contentType])).toEqual([["/v1/traces", "application/x-protobuf"]]);
    const request = RequestType.toObject(RequestType.decode(received[0]?.body), {
      longs: String,
      bytes: String,
    });
    expect(request.resourceSpans).toHaveLength(1);
    const [resourceSpans] = request.resourceSpans;
    const resource = Object.fromEntries(
      resourceSpans.resource.attributes.map((kv: { key: string; value: Record<string, unknown> }) => [
        kv.key,
        Object.values(kv.value)[0],
      ]),
    );
    expect(resource["service.name"]).toBe("gatehouse-test");
    expect(resource["process.pid"]).toBe(String(process.pid));
    const spans = resourceSpans.scopeSpans.flatMap((s: { spans: { name: string }[] }) => s.spans);
    expect(spans.map((s: { name: string }) => s.name).sort()).toEqual(
      [...Array.from({ length: 10 }, (_, i) => `child ${i}`), "POST /v1/chat/completions"].sort(),
    );
  });
});
