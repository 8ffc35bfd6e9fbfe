import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import type { Dispatcher } from "undici";

const tracer = trace.getTracer("gatehouse-providers");

/**
 * A client span's options (its kind and attributes) by upstream origin and path: the same few for
 * every call of an account, so made once rather than per attempt (a `URL`'s getters each build a
 * string). A tracer copies attributes as a span starts, so one object serves every span.
 */
const optionsByOrigin = new WeakMap<URL, Map<string, SpanOptions & { attributes: Attributes }>>();
/** Distinct paths kept per origin (paths carry no ids today; this bounds them if they do). */
const MAX_PATHS_PER_ORIGIN = 64;

function attemptOptions(method: string, origin: URL, path: string): SpanOptions {
  let byPath = optionsByOrigin.get(origin);
  if (byPath === undefined) {
    byPath = new Map();
    optionsByOrigin.set(origin, byPath);
  }
  // By path: a method other than the cached one's (a GET after a POST on one path) replaces it.
  let options = byPath.get(path);
  if (options === undefined || options.attributes["http.request.method"] !== method) {
    const query = path.indexOf("?");
    const attributes = Object.freeze({
      "http.request.method": method,
      "server.address": origin.hostname,
      "server.port": origin.port === "" ? (origin.protocol === "https:" ? 443 : 80) : Number(origin.port),
      "url.scheme": origin.protocol.slice(0, -1),
      "url.path": query < 0 ? path : path.slice(0, query),
    });
    options = Object.freeze({ kind: SpanKind.CLIENT, attributes });
    if (byPath.size >= MAX_PATHS_PER_ORIGIN) byPath.clear();
    byPath.set(path, options);
  }
  return options;
}

/**
 * One upstream HTTP attempt as an OpenTelemetry client span (a retry is another span), a child of
 * whatever span is active (dispatch's `dispatch.invoke`). Nothing is made unless that parent records,
 * so with tracing off an attempt costs one context lookup. Attributes are the HTTP client
 * conventions' plus the time to the response headers; never a header, a query string or a body.
 */
export class UpstreamAttempt {
  private readonly startedAt = performance.now();

  private constructor(private readonly span: Span) {}

  /** The context an upstream request is made in, taken before any await (retries come after one). */
  static parent(): Context | undefined {
    const active = context.active();
    return trace.getSpan(active)?.isRecording() ? active : undefined;
  }

  static start(
    parent: Context | undefined,
    method: string,
    origin: URL,
    path: string,
  ): UpstreamAttempt | undefined {
    if (parent === undefined) return undefined;
    const span = tracer.startSpan(method, attemptOptions(method, origin, path), parent);
    return new UpstreamAttempt(span);
  }

  /** The response headers arrived: its status and the time to its first byte. */
  answered(status: number): void {
    this.span.setAttribute("http.response.status_code", status);
    this.span.setAttribute("gatehouse.upstream.time_to_first_byte_ms", this.elapsedMs());
    if (status >= 400) {
      this.span.setAttribute("error.type", String(status));
      this.span.setStatus({ code: SpanStatusCode.ERROR });
    }
  }

  /** A 2xx answer: the span lasts until its body was read (a stream's last event) or dropped. */
  endWithBody(body: Dispatcher.ResponseData["body"]): void {
    // 'close' comes once (the body read to its end, destroyed or timed out): a plain listener, not
    // `once` and its wrapper. Nothing is stored on undici's body: a property of ours would give its
    // objects a second shape in undici's own code.
    body.on("close", () => this.end());
  }

  /** No answer: the network-level error's code (e.g. ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT). */
  failed(code: string | undefined): void {
    this.span.setAttribute("error.type", code ?? "_OTHER");
    this.span.setStatus({ code: SpanStatusCode.ERROR });
    this.end();
  }

  /** The span's own duration is the attempt's: no attribute repeats it. */
  end(): void {
    this.span.end();
  }

  private elapsedMs(): number {
    return Math.round((performance.now() - this.startedAt) * 1000) / 1000;
  }
}
