import { type Dialect, ERROR_CATALOG, type ErrorCode, GatehouseError } from "@gatehouse/contracts";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The API dialect a route answers in (errors included). */
    dialect?: Dialect;
  }
}

export function dialectOf(request: FastifyRequest): Dialect {
  return request.routeOptions.config?.dialect ?? "openai";
}

/** OpenAI error JSON: `{"error":{"message","type","param","code"}}`. */
export function openAIErrorBody(code: ErrorCode, message: string, param: string | null = null) {
  return { error: { message, type: ERROR_CATALOG[code].type, param, code } };
}

/**
 * Anthropic error JSON: `{"type":"error","error":{"type","message"}}`. The catalog's error types are
 * Anthropic's own names (OpenAI's `type` uses the same ones), so they go out as they are; but
 * OpenAI's `insufficient_quota`, which Anthropic has no name for, is its 429 `rate_limit_error`.
 */
export function anthropicErrorBody(code: ErrorCode, message: string) {
  const type = ERROR_CATALOG[code].type;
  return {
    type: "error",
    error: { type: type === "insufficient_quota" ? "rate_limit_error" : type, message },
  };
}

export function errorBody(dialect: Dialect, code: ErrorCode, message: string) {
  return dialect === "anthropic" ? anthropicErrorBody(code, message) : openAIErrorBody(code, message);
}

/** Map anything thrown in a route to a catalog error. Internal detail never reaches the body. */
export function toGatehouseError(err: unknown, request?: FastifyRequest): GatehouseError {
  if (err instanceof GatehouseError) return err;
  const fe = err as Partial<FastifyError>;
  switch (fe.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new GatehouseError("payload_too_large", "request body is larger than this gateway accepts");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new GatehouseError("unsupported_media_type", "request body must be application/json");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new GatehouseError("invalid_request", "request body is not valid JSON");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new GatehouseError("invalid_request", "request content-length does not match its body");
    default:
  }
  if (fe.validation) {
    // The admin API answers a well-formed body that breaks the rules with 422; the OpenAI and
    // Anthropic dialects use 400 for every invalid request, as their SDKs expect.
    const admin = request?.url.startsWith("/api/") ?? false;
    return new GatehouseError(
      admin ? "validation_failed" : "invalid_request",
      `invalid request: ${fe.message ?? "bad input"}`,
    );
  }
  if (err instanceof SyntaxError || fe.statusCode === 400) {
    return new GatehouseError("invalid_request", "request could not be parsed");
  }
  return new GatehouseError("internal_error", "internal error", { cause: err });
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: GatehouseError): FastifyReply {
  const spec = error.spec;
  const log = request.log;
  const fields = {
    code: error.code,
    detail: error.detail,
    err: spec.status >= 500 ? error.cause : undefined,
  };
  log[spec.level](fields, "request failed");
  if (error.retryAfterSeconds !== undefined)
    reply.header("retry-after", String(Math.ceil(error.retryAfterSeconds)));
  // A spent budget: the official SDKs read this and do not retry in vain.
  if (error.code === "insufficient_quota") reply.header("x-should-retry", "false");
  return reply
    .code(spec.status)
    .type("application/json")
    .send(errorBody(dialectOf(request), error.code, error.message));
}

/** One error handler for the HTTP surface: every failure answers in the caller's dialect. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => sendError(request, reply, toGatehouseError(err, request)));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new GatehouseError("not_found", `no route for ${request.method} ${request.url.split("?")[0]}`),
    ),
  );
}
