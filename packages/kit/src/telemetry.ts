import { type Attributes, context, SpanStatusCode, trace } from "@opentelemetry/api";

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
    import("@opentelemetry/exporter-trace-otlp-http"),
  ]);
  const base = options.otlpEndpoint.replace(/\/+$/, "");
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    traceExporter: new OTLPTraceExporter({ url: `${base}/v1/traces` }),
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

const tracer = trace.getTracer("gatehouse");

/** An error whose outcome is expected (a 4xx): not recorded as a span error. */
export interface ExpectedOutcome {
  readonly expected?: boolean;
}

/**
 * Run `fn` inside a span. Only unexpected failures mark the span as an error, and only the error's
 * code and class name are recorded: messages could carry caller input.
 */
export async function withSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  const span = tracer.startSpan(name, { attributes });
  try {
    return await context.with(trace.setSpan(context.active(), span), fn);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const status = (err as { status?: unknown }).status;
    if (typeof code === "string") span.setAttribute("gatehouse.error_code", code);
    const expected = typeof status === "number" && status < 500;
    if (!expected)
      span.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === "string" ? code : "error" });
    throw err;
  } finally {
    span.end();
  }
}
