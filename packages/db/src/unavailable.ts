import { GatehouseError } from "@gatehouse/contracts";

/** postgres.js's own codes for a connection that could not be made or was lost, and the sockets'. */
const CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** SQLSTATEs of a server that is not taking queries: shutting down, starting, out of connections. */
const SERVER_CODES = new Set(["57P01", "57P02", "57P03", "53300"]);

function unreachable(code: unknown): boolean {
  if (typeof code !== "string") return false;
  // Class 08: connection exception.
  return CONNECTION_CODES.has(code) || SERVER_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code);
}

/**
 * The error a service answers with when a query failed because the database could not be reached
 * (an outage, not a fault of the request or the query): a retryable 503 asking for a retry in a
 * second, rather than the generic 500. `undefined` for any other error. Follows `cause` links, as
 * drizzle wraps the driver's error.
 */
export function databaseUnavailable(err: unknown): GatehouseError | undefined {
  if (err instanceof GatehouseError) return undefined;
  let at: unknown = err;
  for (let depth = 0; depth < 4 && typeof at === "object" && at !== null; depth++) {
    const code = (at as { code?: unknown }).code;
    if (unreachable(code)) {
      return new GatehouseError(
        "service_unavailable",
        "the service cannot reach its database; retry shortly",
        {
          detail: `database unavailable: ${String(code)}`,
          cause: err,
          retryAfterSeconds: 1,
        },
      );
    }
    at = (at as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The SQLSTATE of a failure tied to the row itself — class 22 (data exception: a value out of range)
 * or 23 (integrity constraint violation) — which no redelivery can cure; undefined for anything else
 * (connection loss, timeouts, class 08/53/57: worth trying again), however drizzle wrapped it. What a
 * consumer of a durable stream sets aside rather than let one message fail on every delivery.
 */
export function refusedForARow(err: unknown): string | undefined {
  let at: unknown = err;
  for (let depth = 0; depth < 4 && typeof at === "object" && at !== null; depth++) {
    const code = (at as { code?: unknown }).code;
    if (typeof code === "string" && /^2[23][0-9A-Z]{3}$/.test(code)) return code;
    at = (at as { cause?: unknown }).cause;
  }
  return undefined;
}
