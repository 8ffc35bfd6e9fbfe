/**
 * The one catalog of error codes. Every code has an HTTP status, whether a caller may retry,
 * the level it is logged at, and the OpenAI/Anthropic error `type` it renders as.
 * Adding a code without all four does not compile.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** OpenAI's error `type` values; the Anthropic dialect maps them in the ingress renderer. */
export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "insufficient_quota"
  | "request_too_large"
  | "api_error"
  | "overloaded_error"
  | "timeout_error";

export interface ErrorSpec {
  readonly status: 400 | 401 | 403 | 404 | 408 | 409 | 413 | 415 | 422 | 429 | 499 | 500 | 502 | 503 | 504;
  readonly retryable: boolean;
  readonly level: LogLevel;
  readonly type: ErrorType;
}

export const ERROR_CATALOG = {
  invalid_request: { status: 400, retryable: false, level: "info", type: "invalid_request_error" },
  unsupported_media_type: { status: 415, retryable: false, level: "info", type: "invalid_request_error" },
  payload_too_large: { status: 413, retryable: false, level: "info", type: "request_too_large" },
  validation_failed: { status: 422, retryable: false, level: "info", type: "invalid_request_error" },
  missing_api_key: { status: 401, retryable: false, level: "info", type: "authentication_error" },
  malformed_api_key: { status: 401, retryable: false, level: "info", type: "authentication_error" },
  invalid_api_key: { status: 401, retryable: false, level: "info", type: "authentication_error" },
  api_key_expired: { status: 401, retryable: false, level: "info", type: "authentication_error" },
  api_key_revoked: { status: 401, retryable: false, level: "info", type: "authentication_error" },
  principal_deactivated: { status: 401, retryable: false, level: "info", type: "authentication_error" },
  virtual_account_expired: { status: 401, retryable: false, level: "info", type: "authentication_error" },
  invalid_webhook_signature: { status: 401, retryable: false, level: "warn", type: "authentication_error" },
  permission_denied: { status: 403, retryable: false, level: "info", type: "permission_error" },
  not_found: { status: 404, retryable: false, level: "info", type: "not_found_error" },
  model_not_found: { status: 404, retryable: false, level: "info", type: "not_found_error" },
  conflict: { status: 409, retryable: false, level: "info", type: "invalid_request_error" },
  rate_limited: { status: 429, retryable: true, level: "info", type: "rate_limit_error" },
  /** A budget's period is spent: retrying cannot help before it resets (`x-should-retry: false`). */
  insufficient_quota: { status: 429, retryable: false, level: "info", type: "insufficient_quota" },
  too_many_failed_authentications: {
    status: 429,
    retryable: true,
    level: "info",
    type: "rate_limit_error",
  },
  provider_invalid_request: { status: 400, retryable: false, level: "info", type: "invalid_request_error" },
  provider_auth_failed: { status: 502, retryable: false, level: "warn", type: "api_error" },
  provider_rate_limited: { status: 429, retryable: true, level: "info", type: "rate_limit_error" },
  provider_error: { status: 502, retryable: true, level: "warn", type: "api_error" },
  provider_timeout: { status: 504, retryable: true, level: "warn", type: "timeout_error" },
  /** The account's upstream resolved to an address the egress policy refuses; retrying cannot help. */
  upstream_not_allowed: { status: 502, retryable: false, level: "warn", type: "api_error" },
  /** The provider's answer is larger than MAX_RESPONSE_BYTES; nothing of it reached the caller. */
  response_too_large: { status: 502, retryable: false, level: "warn", type: "api_error" },
  /**
   * The caller went away before its answer was complete (nginx's 499). No caller ever reads it; it
   * is what usage records and logs say about a cancelled call.
   */
  client_closed: { status: 499, retryable: false, level: "info", type: "invalid_request_error" },
  /** A stream's client read nothing for STREAM_WRITE_TIMEOUT_MS; the gateway ended it. */
  stream_write_timeout: { status: 408, retryable: false, level: "info", type: "timeout_error" },
  service_unavailable: { status: 503, retryable: true, level: "warn", type: "overloaded_error" },
  service_timeout: { status: 504, retryable: true, level: "warn", type: "timeout_error" },
  internal_error: { status: 500, retryable: true, level: "error", type: "api_error" },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export const ERROR_CODES = Object.keys(ERROR_CATALOG) as [ErrorCode, ...ErrorCode[]];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CATALOG, value);
}

/**
 * An error that carries a catalog code. `message` is safe to show the caller;
 * `detail` is for logs and spans only.
 */
export class GatehouseError extends Error {
  readonly code: ErrorCode;
  readonly detail: string | undefined;
  /** Seconds the caller should wait before retrying, when the cause said so (429 upstream). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { detail?: string; cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GatehouseError";
    this.code = code;
    this.detail = options.detail;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get spec(): ErrorSpec {
    return ERROR_CATALOG[this.code];
  }

  get status(): ErrorSpec["status"] {
    return ERROR_CATALOG[this.code].status;
  }
}
