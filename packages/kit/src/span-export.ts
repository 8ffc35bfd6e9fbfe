import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import {
  encodeRequest,
  encodeResource,
  encodeScope,
  ProtoWriter,
  type ScopeBatch,
  writeSpan,
} from "./otlp-encode.js";
import type { EndedSpanSink, GatehouseSpan } from "./tracer.js";

export interface OtlpSpanProcessorOptions {
  /** The resource every span is sent with (the process's). */
  resource: Resource;
  /** Sends one encoded `ExportTraceServiceRequest` of `spans` spans and calls back once with how it went. */
  send(request: Uint8Array, done: (result: ExportResult) => void, spans: number): void;
  /** Spans per export request (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`). */
  maxExportBatchSize: number;
  /** Longest a span waits before its batch is sent (`OTEL_BSP_SCHEDULE_DELAY`, ms). */
  scheduledDelayMillis: number;
  /** Spans ended but not yet sent, at most (`OTEL_BSP_MAX_QUEUE_SIZE`); past it, spans are dropped. */
  maxQueueSize: number;
  /** Spans lost: dropped because the queue was full, or in an export that failed for good. */
  onLoss?(reason: "queue_full" | "export_failed", spans: number): void;
}

interface Sealed {
  request: Uint8Array;
  spans: number;
}

/**
 * The batch span processor Gatehouse exports with: like the SDK's BatchSpanProcessor (the same
 * `OTEL_BSP_*` settings, one export at a time, everything sent on flush and shutdown), but a span
 * is encoded to OTLP protobuf the moment it ends and then let go, instead of being held until its
 * batch is sent and only then turned into an object tree and encoded. Held spans outlived the young
 * generation and made old-generation garbage collections a large part of tracing's cost.
 *
 * Memory is bounded by `maxQueueSize` spans (a few hundred bytes each once encoded); a span that
 * ends while that many wait is dropped and counted, rather than the queue growing.
 */
export class OtlpSpanProcessor implements EndedSpanSink<ScopeBatch> {
  /** The resource's encoding and the current batch, by instrumentation scope (one per tracer). */
  private readonly batch: { resource: Buffer; scopes: ScopeBatch[] };
  private batchSpans = 0;
  private readonly sealed: Sealed[] = [];
  /** Spans encoded and not yet through their export (the batch, the sealed requests, the one in flight). */
  private pending = 0;
  private inFlight = false;
  private timer: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];
  private stopped = false;

  /** Spans per request: at most the queue's size (as the SDK's processor), or a batch could never fill. */
  private readonly maxExportBatchSize: number;

  constructor(private readonly options: OtlpSpanProcessorOptions) {
    this.batch = { resource: encodeResource(options.resource), scopes: [] };
    this.maxExportBatchSize = Math.min(options.maxExportBatchSize, options.maxQueueSize);
  }

  scope(name: string, version: string | undefined, schemaUrl: string | undefined): ScopeBatch {
    const scope = { scope: encodeScope({ name, version, schemaUrl }), spans: new ProtoWriter() };
    this.batch.scopes.push(scope);
    return scope;
  }

  onEnd(span: GatehouseSpan, scope: ScopeBatch): void {
    if (this.stopped) return;
    if (this.pending >= this.options.maxQueueSize) {
      this.options.onLoss?.("queue_full", 1);
      return;
    }
    const w = scope.spans;
    const before = w.pos;
    try {
      writeSpan(w, 2, span);
    } catch {
      // Not a span the API can make (a value of another type slipped into its attributes): skip it.
      w.pos = before;
      this.options.onLoss?.("export_failed", 1);
      return;
    }
    this.pending++;
    if (++this.batchSpans >= this.maxExportBatchSize) this.seal();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.seal(), this.options.scheduledDelayMillis);
      this.timer.unref();
    }
  }

  /** Closes the current batch into one request and starts sending it (after those before it). */
  private seal(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.batchSpans === 0) return;
    const request = encodeRequest([this.batch]);
    for (const s of this.batch.scopes) s.spans.reset();
    this.sealed.push({ request, spans: this.batchSpans });
    this.batchSpans = 0;
    this.pump();
  }
  private pump(): void {
    if (this.inFlight) return;
    const next = this.sealed.shift();
    if (next === undefined) {
      for (const resolve of this.idle.splice(0)) resolve();
      return;
    }
    this.inFlight = true;
    let settled = false;
    const done = (result: ExportResult) => {
      if (settled) return;
      settled = true;
      this.inFlight = false;
      this.pending -= next.spans;
      if (result.code !== ExportResultCode.SUCCESS) this.options.onLoss?.("export_failed", next.spans);
      this.pump();
    };
    try {
      this.options.send(next.request, done, next.spans);
    } catch (error) {
      // A transport that throws instead of calling back must not leave the queue waiting forever.
      done({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }

  /** Sends everything ended so far; resolves once it was sent (or failed to be). */
  forceFlush(): Promise<void> {
    this.seal();
    if (!this.inFlight && this.sealed.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /**
   * Sends everything and stops. Spans that end while a flush's requests are out (a call finishing
   * as the process stops) are sent too: it flushes again until nothing is waiting, and only then
   * stops taking spans.
   */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    do await this.forceFlush();
    while (this.batchSpans > 0 && !this.stopped);
    this.stopped = true;
  }
}
