import { GatehouseError } from "@gatehouse/contracts";
import { EGRESS_REFUSED, egressConnector } from "@gatehouse/egress";
import { type Dispatcher, Pool } from "undici";
import { type ErrorContext, malformedUpstream, parseRetryAfterMs, upstreamHttpError } from "./errors.js";
import { type SseEvent, SseParser } from "./sse.js";
import { UpstreamAttempt } from "./tracing.js";
import type { ClientOptions } from "./types.js";

export interface UpstreamRequest {
  /** Default POST; GET and DELETE carry no body. */
  method?: "POST" | "GET" | "DELETE";
  /** Path and query, appended to the base URL's own path. */
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData["body"];
  /** Longest body `readJson` reads before refusing the answer as `response_too_large`. */
  maxBytes: number;
}

/** Default of `ClientOptions.maxResponseBytes`. */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** An error answer is read for its message only. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

function responseTooLarge(accountName: string, detail: string): GatehouseError {
  return new GatehouseError(
    "response_too_large",
    `the answer of the provider for account ${accountName} is larger than this gateway relays`,
    { detail },
  );
}

/**
 * Reads a whole body, refusing it as soon as it is known to exceed `limit` bytes (its
 * content-length, or the bytes read so far): the upstream connection is closed, nothing is kept.
 */
async function readBounded(
  body: Dispatcher.ResponseData["body"],
  headers: UpstreamResponse["headers"],
  limit: number,
  accountName: string,
): Promise<string> {
  const declared = Number(headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    body.on("error", () => {});
    body.destroy();
    throw responseTooLarge(accountName, `content-length ${declared} over ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += (chunk as Buffer).byteLength;
    if (bytes > limit) {
      body.on("error", () => {});
      body.destroy();
      throw responseTooLarge(accountName, `over ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1
    ? (chunks[0] as Buffer).toString("utf8")
    : Buffer.concat(chunks, bytes).toString("utf8");
}

/** Network errors that happen before the request reached the provider, so a retry cannot duplicate work. */
const CONNECT_ERROR_CODES = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
]);
const TIMEOUT_CODES = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

function errorCode(error: unknown): string | undefined {
  let node: unknown = error;
  for (let depth = 0; depth < 4 && typeof node === "object" && node !== null; depth++) {
    const code = (node as { code?: unknown }).code;
    if (typeof code === "string") return code;
    node = (node as { cause?: unknown }).cause;
  }
  return undefined;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("This operation was aborted", "AbortError");
}

/** Turns a network-level failure into a catalog error; an abort by the caller is rethrown as the signal's reason. */
export function networkError(error: unknown, signal: AbortSignal, accountName: string): unknown {
  if (error instanceof GatehouseError) return error;
  if (signal.aborted) return abortReason(signal);
  const code = errorCode(error);
  const detail = `${code ?? "unknown"}: ${error instanceof Error ? error.message : String(error)}`;
  if (code === EGRESS_REFUSED) {
    // The host and the address it resolved to stay in the detail (logs): callers learn only that
    // the policy said no, not what an internal name resolves to.
    return new GatehouseError(
      "upstream_not_allowed",
      `the provider for account ${accountName} is at an address this gateway's egress policy refuses`,
      { detail },
    );
  }
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new GatehouseError(
      "provider_timeout",
      `the provider for account ${accountName} did not answer in time`,
      {
        detail,
      },
    );
  }
  return new GatehouseError("provider_error", `could not reach the provider for account ${accountName}`, {
    detail,
  });
}

/**
 * For calls nobody can cancel (non-streaming answers: the caller's disconnect does not reach the
 * upstream call). Passing this instead of a fresh AbortController's signal skips making a signal
 * and having undici listen to it, which was ~3% of dispatch's CPU under load.
 */
export const NOT_CANCELLABLE: AbortSignal = new AbortController().signal;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal === NOT_CANCELLABLE) return new Promise((resolve) => setTimeout(resolve, ms));
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * One keep-alive connection pool per provider client, with the gateway's timeout and retry policy.
 * Retries happen only here, so only before the first byte reaches the caller.
 */
export class Transport {
  private readonly pool: Pool;
  private readonly origin: URL;
  private readonly basePath: string;
  private readonly maxRetries: number;
  private readonly retryBaseDelayMs: number;
  private readonly maxRetryWaitMs: number;
  private readonly closeGraceMs: number;
  private readonly maxResponseBytes: number;
  private readonly onRetry: ClientOptions["onRetry"];

  constructor(
    baseUrl: string,
    options: ClientOptions,
    private readonly errors: ErrorContext,
  ) {
    const url = new URL(baseUrl);
    this.origin = url;
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.pool = new Pool(url.origin, {
      // Every connection is checked against the egress policy on the address it is made to.
      connect: egressConnector(options.egress, { timeout: options.connectTimeoutMs }),
      headersTimeout: options.firstByteTimeoutMs,
      bodyTimeout: options.idleTimeoutMs,
      keepAliveTimeout: 30_000,
      connections: 128,
    });
    this.maxRetries = Math.max(0, Math.min(2, Math.floor(options.maxRetries)));
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 200;
    this.maxRetryWaitMs = options.maxRetryWaitMs ?? 10_000;
    this.closeGraceMs = options.closeGraceMs ?? 30_000;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.onRetry = options.onRetry;
  }

  /** Sends a request (POST unless it says); resolves with a 2xx response, or throws a catalog error (after retries). */
  async post(request: UpstreamRequest, signal: AbortSignal): Promise<UpstreamResponse> {
    const tracedIn = UpstreamAttempt.parent();
    for (let attempt = 0; ; attempt++) {
      const canRetry = attempt < this.maxRetries;
      let response: Dispatcher.ResponseData;
      const method = request.method ?? "POST";
      const traced = UpstreamAttempt.start(tracedIn, method, this.origin, this.basePath + request.path);
      try {
        response = await this.pool.request({
          method,
          path: this.basePath + request.path,
          headers:
            method === "POST"
              ? { "content-type": "application/json", accept: "application/json", ...request.headers }
              : { accept: "application/json", ...request.headers },
          body: method === "POST" ? JSON.stringify(request.body) : undefined,
          signal: signal === NOT_CANCELLABLE ? undefined : signal,
        });
      } catch (error) {
        const code = errorCode(error);
        traced?.failed(code);
        if (!signal.aborted && canRetry && code !== undefined && CONNECT_ERROR_CODES.has(code)) {
          this.onRetry?.("connect");
          await sleep(this.backoffMs(attempt), signal);
          continue;
        }
        throw networkError(error, signal, this.errors.accountName);
      }
      const { statusCode, headers, body } = response;
      traced?.answered(statusCode);
      if (statusCode >= 200 && statusCode < 300) {
        traced?.endWithBody(body);
        return { status: statusCode, headers, body, maxBytes: this.maxResponseBytes };
      }
      let text: string;
      try {
        text = await readBounded(body, {}, MAX_ERROR_BODY_BYTES, this.errors.accountName).catch(
          (error: unknown) => {
            if (error instanceof GatehouseError && error.code === "response_too_large") return "";
            throw error;
          },
        );
      } catch (error) {
        throw networkError(error, signal, this.errors.accountName);
      } finally {
        traced?.end();
      }
      if (canRetry && (statusCode === 429 || statusCode >= 500)) {
        const retryAfterMs = parseRetryAfterMs(headers);
        const wait = retryAfterMs ?? this.backoffMs(attempt);
        if (wait <= this.maxRetryWaitMs) {
          this.onRetry?.(statusCode === 429 ? "status_429" : "status_5xx");
          await sleep(wait, signal);
          continue;
        }
      }
      throw upstreamHttpError(statusCode, headers, text, this.errors);
    }
  }

  /** Lets in-flight requests finish for up to `closeGraceMs`, then cuts them off. */
  async close(graceMs = this.closeGraceMs): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<"expired">((resolve) => {
      timer = setTimeout(() => resolve("expired"), graceMs);
      timer.unref();
    });
    const outcome = await Promise.race([this.pool.close().then(() => "closed" as const), expired]);
    clearTimeout(timer);
    if (outcome === "expired") await this.pool.destroy();
  }

  private backoffMs(attempt: number): number {
    // Exponential with jitter in [0.5, 1.5) so a herd of clients spreads out.
    return Math.round(this.retryBaseDelayMs * 2 ** attempt * (0.5 + Math.random()));
  }
}

export async function readJson(response: UpstreamResponse, signal: AbortSignal, accountName: string) {
  let text: string;
  try {
    text = await readBounded(response.body, response.headers, response.maxBytes, accountName);
  } catch (error) {
    throw networkError(error, signal, accountName);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // No cause: JSON.parse's message quotes the text around the fault (the answer's words), and a
    // cause is logged.
    throw malformedUpstream(`unparseable JSON body (${text.length} chars)`);
  }
}

/**
 * Iterates the SSE events of a response; an event larger than `maxBytes` (counted from the chunk
 * after the last complete one, so up to a read's size more) ends it as `response_too_large`. Stopping early (break/return, or abort) destroys the body,
 * which closes the upstream connection so the provider stops generating. Stopping right after the
 * stream's terminal event (`isTerminal`) instead drains the few remaining bytes, so the keep-alive
 * connection goes back to the pool.
 */
export async function* readSse(
  response: UpstreamResponse,
  signal: AbortSignal,
  accountName: string,
  isTerminal: (event: SseEvent) => boolean = () => false,
): AsyncGenerator<SseEvent> {
  const parser = new SseParser();
  let finished = false;
  let terminal = false;
  // Bytes read since an event last completed: an event is bounded like a whole answer
  // (`maxBytes`), or an upstream that never ends one would grow this process without limit.
  let unfinished = 0;
  try {
    for await (const chunk of response.body.iterator({ destroyOnReturn: false })) {
      const events = parser.push(chunk as Uint8Array);
      unfinished = events.length > 0 ? 0 : unfinished + (chunk as Uint8Array).byteLength;
      if (unfinished > response.maxBytes) {
        throw responseTooLarge(accountName, `a stream event over ${response.maxBytes} bytes`);
      }
      for (const event of events) {
        terminal = isTerminal(event);
        yield event;
      }
    }
    for (const event of parser.end()) yield event;
    finished = true;
  } catch (error) {
    throw networkError(error, signal, accountName);
  } finally {
    if (!finished) {
      if (terminal && !signal.aborted) {
        // The end of the body is normally already in flight; a server that keeps talking is cut off.
        response.body
          .dump({ limit: Number.MAX_SAFE_INTEGER, signal: AbortSignal.timeout(1_000) })
          .catch(() => {});
      } else {
        // undici reports the destroy as an 'error' event; nobody reads the body any more.
        response.body.on("error", () => {});
        response.body.destroy();
      }
    }
  }
}

export function parseJsonEvent<T>(data: string): T {
  try {
    return JSON.parse(data) as T;
  } catch {
    throw malformedUpstream(`unparseable stream event (${data.length} chars)`); // no cause: see readJson
  }
}
