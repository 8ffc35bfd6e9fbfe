import type { Agent, ClientRequest, IncomingMessage } from "node:http";
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
  /**
   * Sends one encoded OTLP `ExportTraceServiceRequest` of `spans` spans, calling back once with how it
   * went. One export is out at a time: the next is sent only after `done`.
   */
  send(request: Uint8Array, done: (result: ExportResult) => void, spans: number): void;
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
    send: (request, done, spans) => options.exporter.send(request, done, spans),
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
  /** Where spans lost to a full queue, a failed export or the endpoint's refusal are reported (a `warn`, at most once a minute). */
  logger?: Logger;
  /** Where the `OTEL_*` tracing settings are read (process.env by default; the HTTP transport reads its own). */
  env?: NodeJS.ProcessEnv;
}): Promise<Telemetry> {
  if (!options.otlpEndpoint) return { shutdown: async () => {} };
  const env = options.env ?? process.env;
  const [exporterBase, { parseKeyPairsIntoRecord }] = await Promise.all([
    import("@opentelemetry/otlp-exporter-base/node-http"),
    import("@opentelemetry/core"),
  ]);
  // The values of the headers the transport sends (an API key, a tenant), as it reads them from
  // process.env: an endpoint that echoes one in its message must not put it in the log.
  const credentials = ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"]
    .flatMap((name) => {
      try {
        return Object.values(parseKeyPairsIntoRecord(process.env[name]));
      } catch {
        return []; // a malformed escape: the transport's own reading of it fails next, as before
      }
    })
    .flatMap((value) => [value, encodeURIComponent(value)])
    .filter((value) => value.length >= MIN_REDACTED_CHARS);
  const base = options.otlpEndpoint.replace(/\/+$/, "");
  const lost = { queue_full: 0, export_failed: 0, rejected: 0 };
  let rejection: string | undefined;
  let lastWarning = 0;
  /** Spans in the export out now (one at a time): an endpoint's refused count is bounded by it. */
  let exportSpans = 0;
  const report = () => {
    const now = Date.now();
    if (now - lastWarning < LOSS_WARNING_INTERVAL_MS) return;
    lastWarning = now;
    options.logger?.warn(
      {
        droppedQueueFull: lost.queue_full,
        exportFailed: lost.export_failed,
        ...(lost.rejected > 0 || rejection !== undefined
          ? { rejectedByEndpoint: lost.rejected, rejection: rejection ?? null }
          : {}),
      },
      "trace spans lost since the last warning (export queue full, or the OTLP endpoint failed or refused them)",
    );
    lost.queue_full = 0;
    lost.export_failed = 0;
    lost.rejected = 0;
    rejection = undefined;
  };
  const delegate = exporterBase.createOtlpHttpExportDelegate(
    boundedAnswers(
      exporterBase.convertLegacyHttpOptions({ url: `${base}/v1/traces` }, "TRACES", "v1/traces", {
        "Content-Type": "application/x-protobuf",
      }),
    ),
    {
      // The processor hands over a request it already encoded.
      serializeRequest: (request: Uint8Array) => request,
      // Read here rather than by @opentelemetry/otlp-transformer (protobufjs and the generated OTLP
      // definitions: about 2 MB more live heap in every tracing process, for this one message), and
      // reported through the logger: the exporter only hands it to the SDK's diag logger, which
      // Gatehouse does not set up, so a partial success went unseen.
      deserializeResponse: (data: Uint8Array) => {
        const response = decodeExportTraceResponse(data);
        const partial = response.partialSuccess;
        // The count is the endpoint's word: a negative one (an int64) refused none, and none
        // refused more spans than the export held.
        const refused = partial === undefined ? 0 : Math.min(Math.max(partial.rejectedSpans, 0), exportSpans);
        if (partial !== undefined && (refused > 0 || partial.errorMessage !== "")) {
          lost.rejected += refused;
          if (partial.errorMessage !== "") rejection = printableRejection(partial.errorMessage, credentials);
          report();
        }
        return response;
      },
    },
  );
  const provider = await registerTracing({
    serviceName: options.serviceName,
    env,
    exporter: {
      send: (request, done, spans) => {
        exportSpans = spans;
        delegate.export(request, done);
      },
      onLoss: (reason, spans) => {
        lost[reason] += spans;
        report();
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

/** Bytes of an export's answer read at most: a partial success takes a few hundred; past this the export fails. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * The exporter's HTTP settings with every request bounded as a whole, not only while idle (the
 * transport's own timeout is the socket's idle time): an endpoint whose answer trickles or floods
 * without end held the one export out for good (so every later span was dropped and shutdown waited
 * on it) while its bytes piled up in memory. The request is destroyed once the exporter's timeout
 * passes or the answer passes `MAX_ANSWER_BYTES`; the transport then reports a failed export. Done
 * on the agent the settings already make (its TLS options from the environment kept).
 */
function boundedAnswers<
  C extends { agentFactory: (protocol: string) => Agent | Promise<Agent>; timeoutMillis: number },
>(config: C): C {
  const agentFactory = async (protocol: string): Promise<Agent> => {
    const agent = (await config.agentFactory(protocol)) as Agent & {
      addRequest(request: ClientRequest, options: unknown): void;
    };
    const addRequest = agent.addRequest;
    agent.addRequest = function (this: Agent, request: ClientRequest, options: unknown) {
      boundRequest(request, config.timeoutMillis);
      return addRequest.call(this, request, options);
    };
    return agent;
  };
  return { ...config, agentFactory };
}

function boundRequest(request: ClientRequest, timeoutMillis: number): void {
  const timer = setTimeout(
    () => request.destroy(new Error(`OTLP endpoint did not answer in full within ${timeoutMillis} ms`)),
    timeoutMillis,
  );
  timer.unref();
  request.once("close", () => clearTimeout(timer));
  request.once("response", (response: IncomingMessage) => {
    // The request's error is what the transport reports; the answer's own would go unhandled.
    response.on("error", () => {});
    let bytes = 0;
    response.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_ANSWER_BYTES)
        request.destroy(new Error(`OTLP endpoint answered more than ${MAX_ANSWER_BYTES} bytes`));
    });
  });
}

/** Characters of an endpoint's rejection message kept for the warning (it is the endpoint's free text). */
const MAX_REJECTION_CHARS = 256;
/** Shorter header values are not redacted from it (a "1" or a "true" would blank out ordinary text). */
const MIN_REDACTED_CHARS = 8;

/**
 * An endpoint's rejection message as the warning carries it: the exporter's header values (of at
 * least `MIN_REDACTED_CHARS`) replaced by `[redacted]`, its first `MAX_REJECTION_CHARS`
 * characters (a surrogate pair kept whole), every control character, line or paragraph separator and
 * bidi control replaced (a space for the line-breaking ones, U+FFFD for the rest), so that it can
 * neither start a forged log line nor drive a terminal reading the pretty logs.
 */
function printableRejection(message: string, credentials: readonly string[]): string {
  // Before the cut, so that no credential's start is left at the end.
  const text = credentials.reduce((m, secret) => m.replaceAll(secret, "[redacted]"), message);
  let end = Math.min(text.length, MAX_REJECTION_CHARS);
  const last = text.charCodeAt(end - 1);
  if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
  return text
    .slice(0, end)
    .replace(/[\t\n\v\f\r\u0085\u2028\u2029]/g, " ")
    .replace(/[\p{Cc}\p{Bidi_Control}]/gu, "\ufffd");
}

/** An OTLP `ExportTraceServiceResponse`: a partial success when the endpoint refused some spans. */
export interface ExportTraceResponse {
  partialSuccess?: { rejectedSpans: number; errorMessage: string };
}

/**
 * Decodes an OTLP/HTTP protobuf `ExportTraceServiceResponse` (field 1: `partial_success`, whose field
 * 1 is `rejected_spans`, an int64, and field 2 `error_message`); fields it does not know are skipped,
 * groups included, as protobuf readers do. An empty body is an empty response. Throws on a truncated
 * or malformed one. The bytes are the endpoint's: a count may be negative or absurd (the caller bounds
 * it) and the message any text (the caller cleans it before it reaches a log).
 */
export function decodeExportTraceResponse(data: Uint8Array): ExportTraceResponse {
  const response: ExportTraceResponse = {};
  const reader = { data, at: 0 };
  while (reader.at < data.length) {
    const tag = readVarint(reader);
    if (tag === 1 * 8 + 2) {
      const end = lengthDelimitedEnd(reader);
      const partial = response.partialSuccess ?? { rejectedSpans: 0, errorMessage: "" };
      while (reader.at < end) {
        const inner = readVarint(reader);
        if (inner === 1 * 8 + 0) partial.rejectedSpans = readInt64(reader);
        else if (inner === 2 * 8 + 2) {
          const to = lengthDelimitedEnd(reader);
          partial.errorMessage = Buffer.from(
            data.buffer,
            data.byteOffset + reader.at,
            to - reader.at,
          ).toString("utf8");
          reader.at = to;
        } else skipField(reader, inner, 0);
      }
      if (reader.at !== end) throw new Error("malformed OTLP response: partial_success overruns its length");
      response.partialSuccess = partial;
    } else skipField(reader, tag, 0);
  }
  return response;
}

interface Reader {
  data: Uint8Array;
  at: number;
}

/** A varint as a number (exact up to 2^53: a length past that is past any buffer, a tag names no field read here). */
function readVarint(reader: Reader): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (reader.at >= reader.data.length) throw new Error("truncated OTLP response");
    const byte = reader.data[reader.at++] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 128;
  }
  throw new Error("malformed OTLP response: varint longer than 10 bytes");
}

/**
 * An int64 varint: its low 64 bits, two's complement (a negative count is sent as 10 bytes), read as
 * protobuf readers read it; exact up to 2^53 in magnitude.
 */
function readInt64(reader: Reader): number {
  let low = 0;
  let high = 0;
  for (let i = 0; i < 10; i++) {
    if (reader.at >= reader.data.length) throw new Error("truncated OTLP response");
    const byte = reader.data[reader.at++] as number;
    const bits = byte & 0x7f;
    const shift = 7 * i;
    if (shift < 32) low |= bits << shift;
    if (shift > 25) high |= shift < 32 ? bits >>> (32 - shift) : bits << (shift - 32);
    if (byte < 0x80) return high * 2 ** 32 + (low >>> 0);
  }
  throw new Error("malformed OTLP response: varint longer than 10 bytes");
}

function lengthDelimitedEnd(reader: Reader): number {
  const length = readVarint(reader);
  const end = reader.at + length;
  if (end > reader.data.length) throw new Error("truncated OTLP response");
  return end;
}

/** Groups nested deeper than this are refused (protobuf's own parsers stop at 100). */
const MAX_GROUP_DEPTH = 100;

function skipField(reader: Reader, tag: number, depth: number): void {
  const wireType = tag & 7;
  if (wireType === 0) readVarint(reader);
  else if (wireType === 1) reader.at += 8;
  else if (wireType === 2) reader.at = lengthDelimitedEnd(reader);
  else if (wireType === 5) reader.at += 4;
  else if (wireType === 3) {
    // A group: its fields up to the end-group tag of the same field number.
    if (depth >= MAX_GROUP_DEPTH) throw new Error("malformed OTLP response: groups nested too deep");
    const endTag = tag - 3 + 4;
    for (;;) {
      const inner = readVarint(reader);
      if (inner === endTag) break;
      skipField(reader, inner, depth + 1);
    }
  } else throw new Error(`malformed OTLP response: wire type ${wireType}`);
  if (reader.at > reader.data.length) throw new Error("truncated OTLP response");
}
