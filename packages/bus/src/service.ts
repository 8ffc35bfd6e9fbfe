import {
  type Endpoint,
  type ErrorReply,
  GatehouseError,
  microServiceName,
  type ServiceName,
  subjectFor,
} from "@gatehouse/contracts";
import type { Logger } from "@gatehouse/kit";
import { context as otelContext, SpanStatusCode, trace } from "@opentelemetry/api";
import type { MsgHdrs, NatsConnection, Service, ServiceMsg } from "nats";
import type { z } from "zod";
import { decodeJson, encodeJson } from "./codec.js";
import { extractTraceContext } from "./trace.js";

export interface HandlerContext {
  readonly subject: string;
  readonly headers: MsgHdrs | undefined;
  /** The raw message, for handlers that answer with more than one message (streams). */
  readonly msg: ServiceMsg;
}

export type Handler<E extends Endpoint> = (
  request: z.output<E["request"]>,
  ctx: HandlerContext,
) => Promise<z.input<E["response"]> | typeof NO_REPLY>;

/** Returned by a handler that has answered on its own (e.g. a stream of chunk messages). */
export const NO_REPLY: unique symbol = Symbol("no-reply");

export interface Route<E extends Endpoint = Endpoint> {
  endpoint: E;
  handler: Handler<E>;
}

export function route<E extends Endpoint>(endpoint: E, handler: Handler<E>): Route {
  return { endpoint, handler: handler as unknown as Handler<Endpoint> };
}

/**
 * An endpoint whose payload is not a JSON contract message (e.g. `dispatch.invoke`, which carries the
 * caller's body byte for byte). The handler owns parsing and replying.
 */
export interface RawRoute {
  raw: true;
  service: ServiceName;
  action: string;
  handler: (msg: ServiceMsg) => void;
}

export interface ServeOptions {
  nc: NatsConnection;
  prefix: string;
  service: ServiceName;
  version: string;
  description: string;
  logger: Logger;
  routes: Array<Route | RawRoute>;
  /**
   * The catalog error for a handler's failure that is not a GatehouseError, when it is not a bug
   * (a database outage is a 503); `internal_error` when this gives nothing.
   */
  mapError?: (err: unknown) => GatehouseError | undefined;
}

export interface RunningService {
  readonly service: Service;
  readonly name: string;
  /** Stop taking new requests; in-flight handlers run on until the connection drains. */
  stop(): Promise<void>;
}

const tracer = trace.getTracer("gatehouse-bus");

/**
 * Register a NATS micro service (so `$SRV.PING/INFO/STATS` discover it) whose endpoints share one
 * queue group per service: N instances split the load. Every request is validated against its
 * contract; failures answer as service errors carrying a catalog code.
 */
export async function serve(options: ServeOptions): Promise<RunningService> {
  const name = microServiceName(options.prefix, options.service);
  const service = await options.nc.services.add({
    name,
    version: options.version,
    description: options.description,
    queue: name,
  });
  for (const r of options.routes) {
    if ("raw" in r) {
      service.addEndpoint(r.action.replaceAll(".", "-"), {
        subject: subjectFor(options.prefix, r.service, r.action),
        handler: (err, msg) => {
          if (err) options.logger.error({ err }, "endpoint subscription failed");
          else r.handler(msg);
        },
      });
      continue;
    }
    const subject = subjectFor(options.prefix, r.endpoint.service, r.endpoint.action);
    service.addEndpoint(r.endpoint.action.replaceAll(".", "-"), {
      subject,
      handler: (err, msg) => {
        if (err) {
          options.logger.error({ err, subject }, "endpoint subscription failed");
          return;
        }
        void handle(r, subject, msg, options.logger, options.mapError);
      },
    });
  }
  return {
    service,
    name,
    stop: async () => {
      if (!service.isStopped) await service.stop();
    },
  };
}

async function handle(
  r: Route,
  subject: string,
  msg: ServiceMsg,
  logger: Logger,
  mapError: ServeOptions["mapError"],
): Promise<void> {
  const parent = extractTraceContext(msg.headers);
  const span = tracer.startSpan(
    `${r.endpoint.service}.${r.endpoint.action}`,
    { attributes: { "messaging.destination.name": subject } },
    parent,
  );
  try {
    let raw: unknown;
    try {
      raw = msg.data.length === 0 ? {} : decodeJson(msg.data);
    } catch {
      throw new GatehouseError("invalid_request", "request body is not JSON");
    }
    const parsed = r.endpoint.request.safeParse(raw);
    if (!parsed.success) {
      throw new GatehouseError("validation_failed", `invalid request: ${summarizeIssues(parsed.error)}`);
    }
    const result = await otelContext.with(trace.setSpan(parent, span), () =>
      r.handler(parsed.data, { subject, headers: msg.headers, msg }),
    );
    if (result !== NO_REPLY && msg.reply) msg.respond(encodeJson(result));
  } catch (err) {
    const error =
      err instanceof GatehouseError
        ? err
        : (mapError?.(err) ?? new GatehouseError("internal_error", "internal service error", { cause: err }));
    const spec = error.spec;
    span.setAttribute("gatehouse.error_code", error.code);
    if (spec.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: error.code });
    logger[spec.level === "debug" ? "debug" : spec.level](
      {
        err: err instanceof GatehouseError ? undefined : err,
        code: error.code,
        detail: error.detail,
        subject,
      },
      "request failed",
    );
    if (msg.reply) {
      const reply: ErrorReply = { code: error.code, message: error.message };
      if (error.retryAfterSeconds !== undefined) reply.retryAfterSeconds = error.retryAfterSeconds;
      msg.respondError(spec.status, error.code, encodeJson(reply));
    }
  } finally {
    span.end();
  }
}

export function summarizeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? i.path.join(".") : "(root)"}: ${i.message}`)
    .join("; ");
}
