import { SynchronousContextManager } from "./sync-context.js";

export interface Telemetry {
  shutdown(): Promise<void>;
}

/**
 * Start the OpenTelemetry SDK only when an OTLP endpoint is configured; otherwise the API stays a
 * no-op and costs nothing on the hot path. The SDK is imported lazily for the same reason.
 */
export async function startTelemetry(options: {
  serviceName: string;
  otlpEndpoint: string | undefined;
}): Promise<Telemetry> {
  if (!options.otlpEndpoint) return { shutdown: async () => {} };
  const [{ NodeSDK }, { OTLPTraceExporter }] = await Promise.all([
    import("@opentelemetry/sdk-node"),
    // Protobuf, the OTLP default: a third of JSON's bytes and cheaper to encode at a span per hop.
    import("@opentelemetry/exporter-trace-otlp-proto"),
  ]);
  const base = options.otlpEndpoint.replace(/\/+$/, "");
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    traceExporter: new OTLPTraceExporter({ url: `${base}/v1/traces` }),
    contextManager: new SynchronousContextManager(),
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
