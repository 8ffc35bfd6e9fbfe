import { hostname } from "node:os";
import type { ExportResult } from "@opentelemetry/core";
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

/** What `registerTracing` needs besides the resource and the settings: where encoded requests go. */
export interface TracingExport {
  /** Sends one encoded OTLP `ExportTraceServiceRequest`, calling back once with how it went. */
  send(request: Uint8Array, done: (result: ExportResult) => void): void;
  /** Spans lost to a full queue or a failed export. */
  onLoss?(reason: "queue_full" | "export_failed", spans: number): void;
}

/**
 * Registers Gatehouse's tracer (tracer.ts) as the global tracer provider, with W3C trace context
 * propagation and the synchronous context manager, its spans exported through `OtlpSpanProcessor`
 * to `exporter.send`. The sampler, span limits and `OTEL_BSP_*` batching come from `env`, the
 * resource from `OTEL_RESOURCE_ATTRIBUTES` / `OTEL_SERVICE_NAME`, the service name, the host name
 * and the process id. `startTelemetry` sends to an OTLP/HTTP endpoint; tests send to memory.
 */
export async function registerTracing(options: {
  serviceName: string;
  env: NodeJS.ProcessEnv;
  exporter: TracingExport;
  /** Overrides of the `OTEL_BSP_*` batching (tests export each span as it ends). */
  batching?: { maxExportBatchSize?: number; scheduledDelayMillis?: number };
}): Promise<{ forceFlush(): Promise<void>; shutdown(): Promise<void> }> {
  const { env } = options;
  const [api, core, resources, { OtlpSpanProcessor }, tracer] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/core"),
    import("@opentelemetry/resources"),
    import("./span-export.js"),
    import("./tracer.js"),
  ]);
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
  const processor = new OtlpSpanProcessor({
    resource,
    send: (request, done) => options.exporter.send(request, done),
    maxExportBatchSize:
      options.batching?.maxExportBatchSize ?? envInt(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512),
    scheduledDelayMillis:
      options.batching?.scheduledDelayMillis ?? envInt(env, "OTEL_BSP_SCHEDULE_DELAY", 5000),
    maxQueueSize: envInt(env, "OTEL_BSP_MAX_QUEUE_SIZE", 2048),
    ...(options.exporter.onLoss ? { onLoss: options.exporter.onLoss } : {}),
  });
  const provider = new tracer.GatehouseTracerProvider({
    sink: processor,
    sampling: await tracer.samplingFromEnv(env),
    limits: tracer.spanLimitsFromEnv(env),
  });
  api.context.setGlobalContextManager(new SynchronousContextManager());
  api.propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
  api.trace.setGlobalTracerProvider(provider);
  return provider;
}

/**
 * Start tracing only when an OTLP endpoint is configured; otherwise the API stays a no-op and costs
 * nothing on the hot path. The tracer and the exporter are imported lazily for the same reason.
 *
 * Spans are Gatehouse's own (tracer.ts: the OpenTelemetry API's tracer and span, sampled as the SDK samples),
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
  /** Where the `OTEL_*` tracing settings are read (process.env by default; the HTTP transport reads its own). */
  env?: NodeJS.ProcessEnv;
}): Promise<Telemetry> {
  if (!options.otlpEndpoint) return { shutdown: async () => {} };
  const env = options.env ?? process.env;
  const [exporterBase, { ProtobufTraceSerializer }] = await Promise.all([
    import("@opentelemetry/otlp-exporter-base/node-http"),
    import("@opentelemetry/otlp-transformer"),
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
  const provider = await registerTracing({
    serviceName: options.serviceName,
    env,
    exporter: {
      send: (request, done) => delegate.export(request, done),
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
    },
  });
  return {
    shutdown: async () => {
      await provider.shutdown();
      await delegate.shutdown();
    },
  };
}
