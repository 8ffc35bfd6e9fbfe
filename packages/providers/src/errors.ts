import { GatehouseError } from "@gatehouse/contracts";

/** What an adapter tells the shared error mapping about the account, so messages can name it and redact its secrets. */
export interface ErrorContext {
  accountName: string;
  /** Strings that must never appear in a message or detail (API keys, ...). */
  secrets: readonly string[];
  /** Pulls the provider's own human message out of an error body, if it has one. */
  extractMessage(body: unknown): string | undefined;
  /** For providers that report a bad key with another status (Gemini: 400 API_KEY_INVALID). */
  isAuthError?(status: number, body: unknown): boolean;
}

const MAX_MESSAGE_BYTES = 1024;

/** Removes secrets, URLs and control characters, then truncates to 1 KB (on a character boundary). */
export function sanitiseProviderMessage(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join("[redacted]");
  out = out
    .replace(/\b(sk|sk-ant|AIza)[-_A-Za-z0-9]{8,}/g, "[redacted]")
    .replace(/https?:\/\/[^\s"'<>]+/g, "[url]")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
    .replace(/[\u0000-\u001f\u007f]+/g, " ")
    .trim();
  const bytes = Buffer.from(out, "utf8");
  if (bytes.length <= MAX_MESSAGE_BYTES) return out;
  return `${new TextDecoder().decode(bytes.subarray(0, MAX_MESSAGE_BYTES - 3)).replace(/\uFFFD$/, "")}...`;
}

export function parseRetryAfterMs(
  headers: Record<string, string | string[] | undefined>,
): number | undefined {
  const ms = headerValue(headers, "retry-after-ms");
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms));
  const value = headerValue(headers, "retry-after");
  if (value === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - Date.now());
}

export function headerValue(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A provider's own error identifier (`invalid_request_error`, `RESOURCE_EXHAUSTED`, `429`): short,
 * no spaces, so it names a kind of failure and cannot carry a sentence of someone's prompt.
 */
const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

function identifier(value: unknown, secrets: readonly string[]): string | undefined {
  const text = typeof value === "number" && Number.isInteger(value) ? String(value) : value;
  if (typeof text !== "string" || !IDENTIFIER.test(text)) return undefined;
  return secrets.some((s) => s.length >= 4 && text.includes(s)) ? undefined : text;
}

/** Where providers put the id of a request in their answer's headers (OpenAI, Anthropic, Azure). */
const REQUEST_ID_HEADERS = ["x-request-id", "request-id", "apim-request-id", "x-ms-request-id"] as const;
const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/**
 * What an operator may read about an upstream error: the status, the provider's error `type`/`code`/
 * `status` when they are identifiers, its request id, the body's size. Never the body's text:
 * providers quote the request back ("'…' is too long"), and logs carry no prompt or answer text.
 */
function upstreamErrorDetail(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  bodyText: string,
  parsed: unknown,
  secrets: readonly string[],
): string {
  const parts = [`upstream status ${status}`];
  const root = parsed as { error?: unknown } | undefined;
  const node = typeof root?.error === "object" && root.error !== null ? root.error : parsed;
  if (typeof node === "object" && node !== null) {
    for (const field of ["type", "code", "status"] as const) {
      const value = identifier((node as Record<string, unknown>)[field], secrets);
      if (value !== undefined) parts.push(`${field} ${value}`);
    }
  }
  for (const name of REQUEST_ID_HEADERS) {
    const id = headerValue(headers, name);
    if (id !== undefined && REQUEST_ID.test(id)) {
      parts.push(`request id ${id}`);
      break;
    }
  }
  parts.push(`body ${Buffer.byteLength(bodyText)} bytes`);
  return parts.join("; ");
}

/** Maps a non-2xx upstream answer to the catalog. */
export function upstreamHttpError(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  bodyText: string,
  ctx: ErrorContext,
): GatehouseError {
  const parsed = parseBody(bodyText);
  const raw = parsed === undefined ? undefined : ctx.extractMessage(parsed);
  const providerMessage = raw === undefined ? undefined : sanitiseProviderMessage(raw, ctx.secrets);
  const detail = upstreamErrorDetail(status, headers, bodyText, parsed, ctx.secrets);
  if (status === 401 || status === 403 || ctx.isAuthError?.(status, parsed) === true) {
    return new GatehouseError(
      "provider_auth_failed",
      `the provider rejected Gatehouse's credentials for account ${ctx.accountName}; your Gatehouse key is fine`,
      { detail },
    );
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfterMs(headers);
    return new GatehouseError(
      "provider_rate_limited",
      `the provider rate-limited account ${ctx.accountName}`,
      {
        detail,
        ...(retryAfterMs === undefined ? {} : { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) }),
      },
    );
  }
  if (status >= 400 && status < 500) {
    return new GatehouseError(
      "provider_invalid_request",
      providerMessage ?? `the provider refused the request (status ${status})`,
      { detail },
    );
  }
  return new GatehouseError("provider_error", `the provider failed to answer (status ${status})`, { detail });
}

/** An error reported inside a 200 stream (Anthropic `event: error`, OpenAI/Gemini `{"error": ...}`). */
export function upstreamStreamError(
  kind: string | undefined,
  message: string | undefined,
  ctx: ErrorContext,
) {
  const safe = message === undefined ? undefined : sanitiseProviderMessage(message, ctx.secrets);
  // The message goes to the caller (it is about their own request), never into the detail (logs).
  const detail = `mid-stream error ${identifier(kind, ctx.secrets) ?? "unknown"}; message ${message?.length ?? 0} chars`;
  switch (kind) {
    case "rate_limit_error":
    case "RESOURCE_EXHAUSTED":
      return new GatehouseError(
        "provider_rate_limited",
        `the provider rate-limited account ${ctx.accountName}`,
        {
          detail,
        },
      );
    case "invalid_request_error":
    case "INVALID_ARGUMENT":
      return new GatehouseError("provider_invalid_request", safe ?? "the provider refused the request", {
        detail,
      });
    default:
      return new GatehouseError("provider_error", "the provider failed in the middle of the answer", {
        detail,
      });
  }
}

export function malformedUpstream(what: string, cause?: unknown): GatehouseError {
  return new GatehouseError("provider_error", "the provider sent an answer Gatehouse could not read", {
    detail: what,
    cause,
  });
}

export function unsupportedOperation(): GatehouseError {
  return new GatehouseError("invalid_request", "operation not supported by this provider account");
}

export function invalidRequest(message: string): GatehouseError {
  return new GatehouseError("invalid_request", message);
}

export function readErrorMessage(body: unknown, ...path: string[]): string | undefined {
  let node: unknown = body;
  for (const key of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === "string" ? node : undefined;
}
