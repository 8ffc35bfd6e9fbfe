import { z } from "zod";
import { Uuid } from "./common.js";

/** Who a rate limit or budget is on. */
export const LimitSubjectKind = z.enum(["user", "team", "virtual_account"]);
export type LimitSubjectKind = z.infer<typeof LimitSubjectKind>;
export const LimitSubject = z.object({ kind: LimitSubjectKind, id: Uuid });
export type LimitSubject = z.infer<typeof LimitSubject>;

/**
 * Who a rate limit is on: one subject, or (`id: null`) the default for every subject of the kind
 * that has no limit of its own with the same scope. Under a default each subject has its own
 * windows (docs/governance.md, "Defaults per subject kind").
 */
export const RateLimitSubject = z.object({ kind: LimitSubjectKind, id: Uuid.nullable() });
export type RateLimitSubject = z.infer<typeof RateLimitSubject>;

/** The most a limit may allow per minute: far above any provider, small enough to stay exact in a double. */
export const LIMIT_MAX_PER_MINUTE = 1_000_000_000;
const PerMinute = z.number().int().min(1).max(LIMIT_MAX_PER_MINUTE);

/**
 * A rate limit as every ingress replica holds it: what it is on, what it counts, and whether calls
 * pass while acl cannot be asked for a slice. Carried by the `rate_limit.changed` access event.
 */
export const RateLimitRule = z.object({
  id: Uuid,
  subject: RateLimitSubject,
  /** Only calls to this provider account (and model) count, when set. */
  account: z.string().max(128).nullable(),
  model: z.string().max(256).nullable(),
  requestsPerMinute: PerMinute.nullable(),
  tokensPerMinute: PerMinute.nullable(),
  failOpen: z.boolean(),
});
export type RateLimitRule = z.infer<typeof RateLimitRule>;
export { PerMinute as LimitPerMinute };

/** The most a budget may hold: far above any real spend, and exact in a double as micro-USD. */
export const BUDGET_MAX_USD = 100_000_000;
/** Budgets are leased and charged in micro-USD (1 USD = 1,000,000). */
export const MICRO_USD = 1_000_000;

/** A budget's period: a UTC calendar day, an ISO week (from Monday 00:00 UTC) or a calendar month. */
export const BudgetPeriod = z.enum(["day", "week", "month"]);
export type BudgetPeriod = z.infer<typeof BudgetPeriod>;

/**
 * A budget as every ingress replica holds it: what it is on, how many USD a period may spend, and
 * whether calls pass while acl cannot be asked for a slice. Carried by the `budget.changed` event.
 */
export const BudgetRule = z.object({
  id: Uuid,
  subject: LimitSubject,
  account: z.string().max(128).nullable(),
  model: z.string().max(256).nullable(),
  maxUsd: z.number().positive().max(BUDGET_MAX_USD),
  period: BudgetPeriod,
  failOpen: z.boolean(),
});
export type BudgetRule = z.infer<typeof BudgetRule>;

/** The UTC period `at` falls in: its start and its end (exclusive), in ms since the epoch. */
export function budgetPeriodOf(period: BudgetPeriod, at: number): { start: number; end: number } {
  const d = new Date(at);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  if (period === "month") return { start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
  const start = Date.UTC(y, m, day);
  if (period === "day") return { start, end: start + 86_400_000 };
  // ISO weeks start on Monday: getUTCDay() is 0 on Sunday.
  const monday = start - ((d.getUTCDay() + 6) % 7) * 86_400_000;
  return { start: monday, end: monday + 7 * 86_400_000 };
}
