import type { ErrorCode, UsageRecord } from "@gatehouse/contracts";
import type { GatehouseMetrics } from "@gatehouse/kit";

/**
 * A usage record as it may arrive here: `costUsd` (USD at the call's prices) and `ttftMs` are the
 * fields the usage-and-cost work adds to the record. Typed structurally so this module counts them
 * once they exist and needs no change to the contract itself.
 */
export type ObservedUsage = UsageRecord & { costUsd?: number | null; ttftMs?: number };

/** Error codes that say the provider failed (its answer, its address, its size), not the caller or us. */
const UPSTREAM_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "provider_invalid_request",
  "provider_auth_failed",
  "provider_rate_limited",
  "provider_error",
  "provider_timeout",
  "upstream_not_allowed",
  "response_too_large",
]);

/**
 * The one place dispatch's per-call series are recorded: every finished call's record (tokens,
 * cost, duration, time to first token) and, for a failed one, its error code when the provider
 * caused it. `configured` says the record's account exists here; only then is it labelled by name.
 * `ttftMs` (time to the provider's first streamed event) is the record's own once it carries one.
 */
export function observeUsage(
  metrics: GatehouseMetrics,
  record: ObservedUsage,
  call: { configured: boolean; ttftMs?: number | undefined; errorCode?: ErrorCode | undefined },
): void {
  const labels = call.configured
    ? metrics.target(record.account, record.model)
    : metrics.target(undefined, undefined);
  metrics.upstreamCall(labels, record.operation, record.status, record.durationMs / 1000);
  // A non-streamed answer's record has a ttftMs too (its whole answer); only streams have a first token.
  const ttftMs = record.stream ? (record.ttftMs ?? call.ttftMs) : undefined;
  if (ttftMs !== undefined) metrics.timeToFirstToken(labels, record.operation, ttftMs / 1000);
  if (record.usage)
    metrics.tokens(labels, record.operation, record.usage.promptTokens, record.usage.completionTokens);
  if (typeof record.costUsd === "number") metrics.cost(labels, record.costUsd);
  if (call.errorCode !== undefined && UPSTREAM_ERRORS.has(call.errorCode))
    metrics.upstreamError(labels.account, call.errorCode);
}

/**
 * A routed call's target that failed before its first byte, and the call went on to the next: not
 * the call's outcome (its record names the target that answered, or the one tried last), but a
 * provider failure all the same, counted under the account that failed, by error code.
 */
export function observeFailedAttempt(metrics: GatehouseMetrics, account: string, code: ErrorCode): void {
  if (UPSTREAM_ERRORS.has(code)) metrics.upstreamError(metrics.target(account, undefined).account, code);
}
