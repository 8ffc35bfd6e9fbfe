import { createRequire } from "node:module";
import { registerTracing } from "@gatehouse/kit";

/** A span as the OTLP request that exported it says (times and resource left out). */
export interface ExportedSpan {
  name: string;
  /** The API's `SpanKind` (INTERNAL 0, SERVER 1, CLIENT 2, …): OTLP's minus one. */
  kind: number;
  spanContext(): { traceId: string; spanId: string; traceFlags: number };
  parentSpanContext: { spanId: string; isRemote: boolean } | undefined;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  status: { code: number; message?: string };
  /** Epoch nanoseconds (as a JS number: to within a microsecond). */
  startTimeUnixNano: number;
  endTimeUnixNano: number;
}

export interface InMemoryTracing {
  /** Every span exported so far, in the order they ended. */
  spans(): ExportedSpan[];
  shutdown(): Promise<void>;
}

// The official OTLP definitions (protobufjs static code, as the SDK's own serializer uses them).
const require = createRequire(import.meta.url);
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root.js");
const RequestType = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

interface DecodedValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number;
  doubleValue?: number;
  arrayValue?: { values?: DecodedValue[] };
}
interface DecodedKeyValue {
  key: string;
  value: DecodedValue;
}
interface DecodedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  flags?: number;
  startTimeUnixNano: number;
  endTimeUnixNano: number;
  attributes?: DecodedKeyValue[];
  events?: { name: string; attributes?: DecodedKeyValue[] }[];
  status?: { code?: number; message?: string };
}

function decodedValue(v: DecodedValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return v.intValue;
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(decodedValue);
  return undefined;
}

const attributesOf = (kvs: DecodedKeyValue[] | undefined): Record<string, unknown> =>
  Object.fromEntries((kvs ?? []).map((kv) => [kv.key, decodedValue(kv.value)]));

/** The spans of one OTLP `ExportTraceServiceRequest`, decoded with the official definitions. */
export function decodeTraceRequest(bytes: Uint8Array): ExportedSpan[] {
  const request = RequestType.toObject(RequestType.decode(bytes), { longs: Number, bytes: String });
  const spans: ExportedSpan[] = [];
  for (const rs of request.resourceSpans ?? [])
    for (const ss of rs.scopeSpans ?? [])
      for (const s of (ss.spans ?? []) as DecodedSpan[]) {
        const hex = (b64: string) => Buffer.from(b64, "base64").toString("hex");
        const context = { traceId: hex(s.traceId), spanId: hex(s.spanId), traceFlags: (s.flags ?? 0) & 0xff };
        spans.push({
          name: s.name,
          kind: s.kind - 1,
          spanContext: () => context,
          parentSpanContext: s.parentSpanId
            ? { spanId: hex(s.parentSpanId), isRemote: ((s.flags ?? 0) & 0x200) !== 0 }
            : undefined,
          attributes: attributesOf(s.attributes),
          events: (s.events ?? []).map((e) => ({ name: e.name, attributes: attributesOf(e.attributes) })),
          status: { code: s.status?.code ?? 0, ...(s.status?.message ? { message: s.status.message } : {}) },
          startTimeUnixNano: s.startTimeUnixNano,
          endTimeUnixNano: s.endTimeUnixNano,
        });
      }
  return spans;
}

/**
 * Gatehouse's tracing as `OTEL_EXPORTER_OTLP_ENDPOINT` starts it (its own tracer, the sampler and
 * limits from the environment, W3C trace context propagation, the synchronous context manager, the
 * OTLP protobuf encoder), except that each span is exported as it ends, to memory, where it is
 * decoded with the official OTLP definitions. Register it before the stack starts, as telemetry
 * starts first in every process; one per test file (the registration is process-global).
 */
export async function startInMemoryTracing(env: NodeJS.ProcessEnv = {}): Promise<InMemoryTracing> {
  const exported: ExportedSpan[] = [];
  const provider = await registerTracing({
    serviceName: "gatehouse-test",
    env,
    exporter: {
      send: (request, done) => {
        exported.push(...decodeTraceRequest(request));
        done({ code: 0 });
      },
    },
    batching: { maxExportBatchSize: 1 },
  });
  return { spans: () => exported, shutdown: () => provider.shutdown() };
}
