import { SynchronousContextManager } from "@gatehouse/kit";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

export type { ReadableSpan };

export interface InMemoryTracing {
  /** Every span ended so far, in the order they ended. */
  spans(): ReadableSpan[];
  shutdown(): Promise<void>;
}

/**
 * The OpenTelemetry SDK as `OTEL_EXPORTER_OTLP_ENDPOINT` starts it (W3C trace context propagation,
 * the synchronous context manager), exporting to memory. Register it before the stack starts, as
 * telemetry starts first in every process; one per test file (the registration is process-global).
 */
export function startInMemoryTracing(): InMemoryTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register({ contextManager: new SynchronousContextManager() });
  return { spans: () => exporter.getFinishedSpans(), shutdown: () => provider.shutdown() };
}
