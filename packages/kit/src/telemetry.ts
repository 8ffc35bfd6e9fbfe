import { hostname } from "node:os";
import type { Logger } from "./logger.js";
import { SynchronousContextManager } from "./sync-context.js";

export interface Telemetry {
  shutdown(): Promise<void>;
}

/** How often at most a warning says that spans were lost (each says how many since the last). */
const LOSS_WARNING_INTERVAL_MS = 60_000;

function envInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

/**
 * Start tracing only when an OTLP endpoint is configured; otherwise the API stays a no-op and costs
 * nothing on the hot path. The SDK is imported lazily for the same reason.
 *
 * Only what Gatehouse uses is set up: a tracer provider (the sampler and span limits from the usual
 * `OTEL_*` variables), W3C trace context propagation, the synchronous context manager, and spans
 * exported as OTLP/HTTP protobuf to `<endpoint>/v1/traces` by `OtlpSpanProcessor` through the
 * OpenTelemetry exporter's HTTP transport (`OTEL_EXPORTER_OTLP_HEADERS`, `_TIMEOUT`, `_COMPRESSION`,
 * retries). No OTLP log or metric exporter, no instrumentation, no resource detection beyond
 * `OTEL_RESOURCE_ATTRIBUTES`, the host name and the process id.
 */
export async function startTelemetry(options: {
  serviceName: string;
  otlpEndpoint: string | undefined;
  /** Where spans lost to a full queue or a failed export are reported (a `warn`, at most once a minute). */
  logger?: Logger;
  /** Where the `OTEL_BSP_*` settings are read (process.env by default; the SDK reads the rest itself). */
  env?: NodeJS.ProcessEnv;
}): Promise<Telemetry> {
  if (!options.otlpEndpoint) return { shutdown: async () => {} };
  const env = options.env ?? process.env;
  const [
    api,
    core,
    resources,
    { BasicTracerProvider },
    exporterBase,
    { ProtobufTraceSerializer },
    { OtlpSpanProcessor },
  ] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/core"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/otlp-exporter-base/node-http"),
    import("@opentelemetry/otlp-transformer"),
    import("./span-export.js"),
  ]);
  const base = options.otlpEndpoint.replace(/\/+$/, "");
  const delegate = exporterBase.createOtlpHttpExportDelegate(
    exporterBase.convertLegacyHttpOptions({ url: `${base}/v1/traces` }, "TRACES", "v1/traces", {
      "Content-Type": "application/x-protobuf",
    }),
    {
      // The processor hands over a request it already encoded.
      serializeRequest: (request: Uint8Array) => request,
      deserializeResponse: (data: Uint8Array) => ProtobufTraceSerializer.deserializeResponse(data),
    },
  );
  const lost = { queue_full: 0, export_failed: 0 };
  let lastWarning = 0;
  const processor = new OtlpSpanProcessor({
    send: (request, done) => delegate.export(request, done),
    maxExportBatchSize: envInt(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512),
    scheduledDelayMillis: envInt(env, "OTEL_BSP_SCHEDULE_DELAY", 5000),
    maxQueueSize: envInt(env, "OTEL_BSP_MAX_QUEUE_SIZE", 2048),
    onLoss: (reason, spans) => {
      lost[reason] += spans;
      const now = Date.now();
      if (now - lastWarning < LOSS_WARNING_INTERVAL_MS) return;
      lastWarning = now;
      options.logger?.warn(
        { droppedQueueFull: lost.queue_full, exportFailed: lost.export_failed },
        "trace spans lost since the last warning (export queue full, or the OTLP endpoint failed)",
      );
      lost.queue_full = 0;
      lost.export_failed = 0;
    },
  });
  const detected = resources.detectResources({ detectors: [resources.envDetector] });
  const resource = resources
    .defaultResource()
    .merge(detected)
    .merge(
      resources.resourceFromAttributes({
        "service.name": options.serviceName,
        "host.name": hostname(),
        "process.pid": process.pid,
      }),
    );
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  api.context.setGlobalContextManager(new SynchronousContextManager());
  api.propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
  api.trace.setGlobalTracerProvider(provider);
  return {
    shutdown: async () => {
      await provider.shutdown();
      await delegate.shutdown();
    },
  };
}
