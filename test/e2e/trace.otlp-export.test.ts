import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { startTelemetry, type Telemetry } from "@gatehouse/kit";
import { waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InferenceWorld, startInferenceWorld } from "./inference-harness.js";

/*
 * The other trace tests export to memory through the SDK's SimpleSpanProcessor. This one runs what a
 * deployment runs with `OTEL_EXPORTER_OTLP_ENDPOINT` set (startTelemetry: OtlpSpanProcessor and the
 * OTLP/HTTP transport) against a receiver, and reads the spans back from the protobuf it was sent,
 * with the official OTLP definitions.
 */
const require = createRequire(new URL("../../packages/kit/package.json", import.meta.url));
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root.js");
const RequestType = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

interface OtlpValue {
  stringValue?: string;
  intValue?: string;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: OtlpValue }[];
}

const spans: (OtlpSpan & { scope: string; service: string })[] = [];
const collector = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const request = RequestType.toObject(RequestType.decode(Buffer.concat(chunks)), {
      longs: String,
      bytes: String,
    });
    for (const rs of request.resourceSpans ?? []) {
      const service = rs.resource.attributes.find((a: { key: string }) => a.key === "service.name")?.value
        .stringValue;
      for (const ss of rs.scopeSpans ?? [])
        for (const span of ss.spans ?? []) spans.push({ ...span, scope: ss.scope.name, service });
    }
    res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
  });
});

let world: InferenceWorld;
let telemetry: Telemetry;

beforeAll(async () => {
  await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
  telemetry = await startTelemetry({
    serviceName: "gatehouse-e2e",
    otlpEndpoint: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
    env: { OTEL_BSP_SCHEDULE_DELAY: "100" },
  });
  world = await startInferenceWorld({ types: ["openai"] });
}, 60_000);
afterAll(async () => {
  await world?.stop();
  await telemetry?.shutdown();
  await new Promise<void>((resolve) => collector.close(() => resolve()));
});

const attrs = (span: OtlpSpan) =>
  Object.fromEntries(span.attributes.map((a) => [a.key, Object.values(a.value)[0]]));

describe("traces exported over OTLP/HTTP protobuf", () => {
  it("arrive as one tree per call, with the GenAI attributes, decodable by the official definitions", async () => {
    const p = world.byType("openai");
    const { response } = await world
      .openai()
      .chat.completions.create({
        model: `${p.account}/${p.chatModel}`,
        messages: [{ role: "user", content: "hello" }],
      })
      .withResponse();
    const requestId = response.headers.get("x-request-id") ?? "";

    let server: (typeof spans)[number] | undefined;
    await waitFor(() => {
      server = spans.find((s) => s.kind === 2 && attrs(s)["gatehouse.request_id"] === requestId);
      return (
        server !== undefined &&
        spans.some((s) => s.traceId === server?.traceId && s.name === "dispatch.invoke") &&
        spans.some((s) => s.traceId === server?.traceId && s.name === "POST")
      );
    }, 15_000);
    const found = server as (typeof spans)[number];
    const tree = spans.filter((s) => s.traceId === found.traceId);
    expect(found.service).toBe("gatehouse-e2e");
    expect(found.scope).toBe("gatehouse-ingress");
    expect(found.name).toBe("POST /v1/chat/completions");
    expect(found.parentSpanId ?? "").toBe("");
    expect(attrs(found)).toMatchObject({
      "http.response.status_code": "200",
      "gatehouse.account": p.account,
    });

    const invoke = tree.find((s) => s.name === "dispatch.invoke") as OtlpSpan;
    expect(invoke.parentSpanId).toBe(found.spanId);
    expect(attrs(invoke)).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": p.chatModel,
      "gatehouse.stream": false,
    });
    const upstream = tree.find((s) => s.name === "POST") as OtlpSpan;
    expect(upstream.kind).toBe(3); // CLIENT in OTLP's numbering
    expect(upstream.parentSpanId).toBe(invoke.spanId);
  });
});
