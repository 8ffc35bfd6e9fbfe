import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { trace } from "@opentelemetry/api";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { afterAll, describe, expect, it, vi } from "vitest";
import type { Logger } from "./logger.js";
import { decodeExportTraceResponse, startTelemetry } from "./telemetry.js";

const require = createRequire(import.meta.url);
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root.js");
const ResponseType = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;

const encode = (message: object): Uint8Array =>
  ResponseType.encode(ResponseType.fromObject(message)).finish();

/** What the transformer's deserializer reads, as plain values (its defaults left out as ours leaves them). */
function transformerReads(data: Uint8Array): { rejectedSpans?: number; errorMessage?: string } | undefined {
  const decoded = ProtobufTraceSerializer.deserializeResponse(data) as {
    partialSuccess?: { rejectedSpans?: number | { toNumber(): number }; errorMessage?: string } | null;
  };
  const partial = decoded.partialSuccess;
  if (partial == null) return undefined;
  const rejected = partial.rejectedSpans;
  const out: { rejectedSpans?: number; errorMessage?: string } = {};
  const count = typeof rejected === "object" && rejected !== null ? rejected.toNumber() : rejected;
  if (count) out.rejectedSpans = count;
  if (partial.errorMessage) out.errorMessage = partial.errorMessage;
  return out;
}

function oursReads(data: Uint8Array): { rejectedSpans?: number; errorMessage?: string } | undefined {
  const partial = decodeExportTraceResponse(data).partialSuccess;
  if (partial === undefined) return undefined;
  const out: { rejectedSpans?: number; errorMessage?: string } = {};
  if (partial.rejectedSpans) out.rejectedSpans = partial.rejectedSpans;
  if (partial.errorMessage) out.errorMessage = partial.errorMessage;
  return out;
}

describe("decodeExportTraceResponse", () => {
  it("reads an OTLP ExportTraceServiceResponse as the official definitions do", () => {
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      encode({}),
      encode({ partialSuccess: {} }),
      encode({ partialSuccess: { rejectedSpans: 3 } }),
      encode({ partialSuccess: { rejectedSpans: 300_000, errorMessage: "spans too old" } }),
      encode({ partialSuccess: { errorMessage: "ünïcode ✓ warning only" } }),
      encode({ partialSuccess: { rejectedSpans: 2 ** 40 + 7 } }),
    ];
    // Fields a later version of the protocol may add: skipped, whatever their wire type.
    const unknown = Uint8Array.from([
      ...[0x10, 0x96, 0x01], // field 2, varint 150
      ...[0x19, 1, 2, 3, 4, 5, 6, 7, 8], // field 3, 64-bit
      ...[0x25, 1, 2, 3, 4], // field 4, 32-bit
      ...[0x2a, 2, 0x68, 0x69], // field 5, 2 bytes
      ...encode({ partialSuccess: { rejectedSpans: 5, errorMessage: "x" } }),
    ]);
    cases.push(unknown);
    for (const data of cases) expect(oursReads(data)).toEqual(transformerReads(data));
  });

  it("refuses a truncated response (the exporter then counts the export as sent, as before)", () => {
    const whole = encode({ partialSuccess: { rejectedSpans: 5, errorMessage: "spans too old" } });
    expect(() => decodeExportTraceResponse(whole.subarray(0, whole.length - 3))).toThrow();
  });
});

const collector = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    const body = encode({ partialSuccess: { rejectedSpans: 2, errorMessage: "span too large" } });
    res.writeHead(200, { "content-type": "application/x-protobuf" }).end(Buffer.from(body));
  });
});
await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
afterAll(() => new Promise<void>((resolve) => collector.close(() => resolve())));

describe("startTelemetry, an endpoint that rejects part of an export", () => {
  it("says in its loss warning how many spans the endpoint rejected and why (the SDK's diag logger is not set up)", async () => {
    const warn = vi.fn();
    const logger = { warn } as unknown as Logger;
    const telemetry = await startTelemetry({
      serviceName: "gatehouse-test",
      otlpEndpoint: endpoint,
      logger,
      env: {},
    });
    // Two spans in the one export: the endpoint's count is believed up to what the export held.
    trace.getTracer("gatehouse-test").startSpan("one").end();
    trace.getTracer("gatehouse-test").startSpan("two").end();
    await telemetry.shutdown();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toEqual({
      droppedQueueFull: 0,
      exportFailed: 0,
      rejectedByEndpoint: 2,
      rejection: "span too large",
    });
  });
});
