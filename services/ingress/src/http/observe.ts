import { contextFromCarrier, parseTraceparent, tracingEnabled } from "@gatehouse/bus";
import { EMPTY_CONTEXT, fixedLine, type Logger } from "@gatehouse/kit";
import {
  type Context,
  context,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import {
  errorCodes,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RouteOptions,
} from "fastify";

declare module "fastify" {
  interface FastifyRequest {
    /** The provider account and model the call was authorized for (inference routes). */
    /** The authorized target: an account's model, or a route (whose answering target dispatch picks). */
    target:
      | { account?: string | undefined; model?: string | undefined; route?: string | undefined }
      | undefined;
    /** The usage JSON dispatch sent with the answer's terminal frame, parsed only for the access line. */
    usageJson: string | Buffer | undefined;
    /** The request's server span and the context it is active in, when tracing is on. */
    traceContext: Context | undefined;
    /** Set once the access line was written (an abandoned stream writes it before `onResponse` could). */
    accessLogged: boolean;
  }
}

/** Status an access line and span record for a call the client left before its answer was complete. */
export const CLIENT_CLOSED_STATUS = 499;

/** Probes answer at `debug`, so a load balancer's health checks do not flood the access log. */
const QUIET_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * One access line per request and, when an OpenTelemetry SDK is registered, one server span per
 * request (continuing the caller's W3C `traceparent`) that every bus call made for it descends from.
 * Registered before the feature plugins so its `onRoute` hook sees every route. With tracing off
 * nothing is wrapped and no span is made.
 */
export function registerObservability(app: FastifyInstance, logger: Logger): void {
  app.decorateRequest("target", undefined);
  app.decorateRequest("usageJson", undefined);
  app.decorateRequest("traceContext", undefined);
  app.decorateRequest("accessLogged", false);
  const tracing = tracingEnabled();
  if (tracing) registerServerSpans(app);
  app.addHook("onResponse", (request, reply, done) => {
    finishRequest(logger, request, reply, reply.statusCode);
    done();
  });
}

/**
 * Ends the request's span and writes its access line, once: from `onResponse`, or by the relay for a
 * client that left (its response never finishes, so `onResponse` does not run).
 */
export function finishRequest(
  logger: Logger,
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
): void {
  if (request.accessLogged) return;
  request.accessLogged = true;
  const span = request.traceContext ? trace.getSpan(request.traceContext) : undefined;
  if (span) endServerSpan(span, request, status);
  const path = request.routeOptions.url;
  const level = path !== undefined && QUIET_PATHS.has(path) ? "debug" : "info";
  if (!logger.isLevelEnabled(level)) return;
  writeAccessLine(logger, level, accessLine(request, reply, status, path, span));
}

interface UsageFields {
  promptTokens?: number;
  completionTokens?: number;
  cachedTokens?: number;
  costUsd?: number | null;
}

function parseUsage(json: string | Buffer | undefined): UsageFields | undefined {
  if (json === undefined || json.length === 0) return undefined;
  try {
    const parsed: unknown = JSON.parse(typeof json === "string" ? json : json.toString("utf8"));
    return typeof parsed === "object" && parsed !== null ? (parsed as UsageFields) : undefined;
  } catch {
    return undefined;
  }
}

const numberOrNull = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The access line's fields, in the order they are written. */
export type AccessLine = {
  reqId: string;
  traceId: string | null;
  method: string;
  path: string | null;
  status: number;
  durationMs: number;
  principalId: string | null;
  account: string | null;
  model: string | null;
  route: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cachedTokens: number | null;
  costUsd: number | null;
};

/**
 * Written once per request, so through kit's fixed-line writer: the same JSON a `logger.info` would
 * write, without the redaction pass over an object whose fields are all identifiers and counts.
 */
const writeAccessLine = fixedLine<AccessLine>("request");

/**
 * The access line's fields. Identifiers, counts and times only: never a header, a key, a body or a
 * query string (`path` is the route's template, not the URL asked for).
 */
export function accessLine(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  path: string | undefined,
  span: Span | undefined,
): AccessLine {
  const usage = parseUsage(request.usageJson);
  const target = request.target;
  return {
    reqId: request.id,
    traceId: span ? span.spanContext().traceId : incomingTraceId(request),
    method: request.method,
    path: path ?? null,
    status,
    durationMs: Math.round(reply.elapsedTime * 1000) / 1000,
    principalId: request.caller?.principal.id ?? null,
    account: target?.account ?? null,
    model: target?.model ?? null,
    route: target?.route ?? null,
    inputTokens: numberOrNull(usage?.promptTokens),
    outputTokens: numberOrNull(usage?.completionTokens),
    cachedTokens: numberOrNull(usage?.cachedTokens),
    costUsd: numberOrNull(usage?.costUsd),
  };
}

/**
 * With tracing off, the caller's own trace id still correlates: from a `traceparent` the propagator
 * would continue (not version ff, not an all-zero id), so the line names no trace tracing would not.
 */
function incomingTraceId(request: FastifyRequest): string | null {
  const header = request.headers.traceparent;
  if (typeof header !== "string") return null;
  return parseTraceparent(header)?.traceId ?? null;
}

// ---------------------------------------------------------------------------------------------
// Server spans

type Hook = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Runs a route's own hook or handler inside the request's trace context, so bus calls it makes carry
 * it. Fastify calls them with at most four arguments (`preParsing`: request, reply, payload, done):
 * four parameters, not a rest array, as this runs several times per request.
 */
function inRequestContext(fn: Hook): Hook {
  return function (this: unknown, request: unknown, reply: unknown, a: unknown, b: unknown) {
    const ctx = (request as FastifyRequest).traceContext;
    return ctx ? context.with(ctx, fn, this, request, reply, a, b) : fn.call(this, request, reply, a, b);
  };
}

const WRAPPED_HOOKS = ["onRequest", "preParsing", "preValidation", "preHandler"] as const;

/**
 * Fastify refuses an async hook that also takes `done` (it would run the chain twice), but only after
 * `onRoute` hooks ran, so it would see the wrapper (neither async nor of that length) and let it
 * through: the same check, before wrapping, with fastify's own error. Fastify checks hooks given as
 * an array (a lone function is not checked by it either).
 */
function refuseAsyncWithDone(name: (typeof WRAPPED_HOOKS)[number], fn: Hook): void {
  const doneAt = name === "preParsing" ? 4 : 3;
  if (fn.constructor.name === "AsyncFunction" && fn.length === doneAt)
    throw new errorCodes.FST_ERR_HOOK_INVALID_ASYNC_HANDLER();
}

const SERVER_SPAN: SpanOptions = Object.freeze({ kind: SpanKind.SERVER });

/** Server span names by route template and method: made once, not concatenated per request. */
const spanNames = new Map<string, Map<string, string>>();
/** Names kept at most (routes are templates and few; past this a name is made per request). */
const MAX_SPAN_NAMES = 1024;
let spanNameCount = 0;

function serverSpanName(method: string, path: string | undefined): string {
  if (path === undefined) return method;
  let byMethod = spanNames.get(path);
  const known = byMethod?.get(method);
  if (known !== undefined) return known;
  const name = `${method} ${path}`;
  if (spanNameCount < MAX_SPAN_NAMES) {
    if (byMethod === undefined) {
      byMethod = new Map();
      spanNames.set(path, byMethod);
    }
    byMethod.set(method, name);
    spanNameCount++;
  }
  return name;
}

/**
 * The caller's trace context, as the W3C propagator `registerTracing` registers would extract it from
 * the request's headers: read here without the propagator (its global lookup, its regular expression
 * and match array per `traceparent`), and nothing read at all for a request that sends none.
 */
function callerContext(request: FastifyRequest): Context {
  const traceparent = request.headers.traceparent;
  if (typeof traceparent !== "string" || traceparent.length === 0) return EMPTY_CONTEXT;
  const tracestate = request.headers.tracestate;
  return contextFromCarrier(
    typeof tracestate === "string" && tracestate.length > 0 ? { traceparent, tracestate } : { traceparent },
  );
}

function registerServerSpans(app: FastifyInstance): void {
  const tracer = trace.getTracer("gatehouse-ingress");
  app.addHook("onRequest", (request, _reply, done) => {
    const parent = callerContext(request);
    const path = request.routeOptions.url;
    const span = tracer.startSpan(serverSpanName(request.method, path), SERVER_SPAN, parent);
    // Set once sampled, not given at the start: a call left out of the sample makes no attributes.
    if (span.isRecording()) {
      span.setAttribute("http.request.method", request.method);
      if (path !== undefined) span.setAttribute("http.route", path);
      span.setAttribute("gatehouse.request_id", request.id);
    }
    request.traceContext = trace.setSpan(parent, span);
    done();
  });
  // Hooks and handlers run in callbacks of fastify's own (body parsing, the hook chain), which do not
  // carry an async context from `onRequest`: each route's own functions are entered in the request's.
  app.addHook("onRoute", (route: RouteOptions) => {
    route.handler = inRequestContext(route.handler as Hook) as RouteOptions["handler"];
    for (const name of WRAPPED_HOOKS) {
      const hooks = route[name] as Hook | Hook[] | undefined;
      if (hooks === undefined) continue;
      if (Array.isArray(hooks)) for (const fn of hooks) refuseAsyncWithDone(name, fn);
      (route as unknown as Record<string, unknown>)[name] = Array.isArray(hooks)
        ? hooks.map(inRequestContext)
        : inRequestContext(hooks);
    }
  });
}

function endServerSpan(span: Span, request: FastifyRequest, status: number): void {
  // A span left out of the sample takes no attributes; ending it records nothing either.
  if (!span.isRecording()) return;
  const caller = request.caller;
  if (caller) {
    span.setAttribute("gatehouse.principal.id", caller.principal.id);
    span.setAttribute("gatehouse.principal.kind", caller.principal.kind);
  }
  const target = request.target;
  if (target) {
    if (target.account !== undefined) span.setAttribute("gatehouse.account", target.account);
    if (target.model !== undefined) span.setAttribute("gen_ai.request.model", target.model);
    if (target.route !== undefined) span.setAttribute("gatehouse.route", target.route);
  }
  span.setAttribute("http.response.status_code", status);
  // Server spans are errors for 5xx only: a refused key or a bad request is the caller's outcome.
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
