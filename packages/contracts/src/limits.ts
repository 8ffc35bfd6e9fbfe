import { z } from "zod";
import { Actor, IsoDateTime, ListRequest, pageOf, Uuid } from "./common.js";
import { AccountName, ModelName } from "./dispatch.js";
import { Propagated } from "./events.js";
import {
  BUDGET_MAX_USD,
  BudgetPeriod,
  BudgetRule,
  LimitPerMinute,
  LimitSubject,
  MICRO_USD,
  RateLimitRule,
  RateLimitSubject,
} from "./limit-rule.js";
import { defineEndpoint } from "./subjects.js";

/** How many rate limits one gateway holds: every ingress replica keeps them all in memory. */
export const RATE_LIMITS_MAX = 10_000;
/** How many rate limits one subject (or one kind's defaults) holds: enough for a scope per model. */
export const RATE_LIMITS_PER_SUBJECT_MAX = 20;

/** A rate limit as the admin API shows it. */
export const RateLimit = RateLimitRule.extend({ createdAt: IsoDateTime, createdBy: Uuid.nullable() });
export type RateLimit = z.infer<typeof RateLimit>;

export const CreateRateLimitRequest = z
  .object({
    actor: Actor,
    subject: RateLimitSubject,
    account: AccountName.optional(),
    model: ModelName.optional(),
    requestsPerMinute: LimitPerMinute.optional(),
    tokensPerMinute: LimitPerMinute.optional(),
    failOpen: z.boolean().default(false),
  })
  .refine((r) => r.requestsPerMinute !== undefined || r.tokensPerMinute !== undefined, {
    message: "set requests_per_minute, tokens_per_minute or both",
  })
  .refine((r) => r.model === undefined || r.account !== undefined, {
    message: "a model scope needs its provider_account (models are named per account)",
  });
export const RateLimitIdRequest = z.object({ actor: Actor, limitId: Uuid });

/** The rate limits that apply to the caller: its own and those of its teams. */
export const MyLimitsRequest = z.object({ actor: Actor });

/** Every rate limit, in id order, a page at a time: what an ingress replica loads at start and after a reset. */
export const RULES_PAGE_MAX = 1_000;
export const RateLimitRulesRequest = z.object({
  after: Uuid.optional(),
  limit: z.number().int().min(1).max(RULES_PAGE_MAX).default(RULES_PAGE_MAX),
});
export const RateLimitRulesResponse = z.object({ rules: z.array(RateLimitRule), next: Uuid.nullable() });
export type RateLimitRulesResponse = z.infer<typeof RateLimitRulesResponse>;

/** Minute windows, named by their start in ms since the epoch (UTC). */
export const RATE_WINDOW_MS = 60_000;

/**
 * A replica asks for a slice of a limit's current window: up to `requests` and `tokens` more. acl's
 * clock names the window, so replicas with skewed clocks still share one. acl hands out
 * `min(want, max − handed out)` of each, so a window never hands out more than its limit.
 */
export const LeaseRequest = z.object({
  limitId: Uuid,
  /**
   * The subject a default limit is counted for (each has its own windows); ignored for a limit on
   * one subject, whose windows are its own.
   */
  subjectId: Uuid.optional(),
  requests: z
    .number()
    .int()
    .min(0)
    .max(2 * 1_000_000_000),
  tokens: z
    .number()
    .int()
    .min(0)
    .max(2 * 1_000_000_000),
});
export type LeaseRequest = z.infer<typeof LeaseRequest>;
export const LeaseResponse = z.object({
  /** False when there is no such limit (deleted): the replica drops it. */
  found: z.boolean(),
  windowStart: z.number().int(),
  /** How long the window (and so the slice) still lasts. */
  resetMs: z.number().int().min(0),
  requests: z.number().int().min(0),
  tokens: z.number().int().min(0),
  /** What the window still holds after this grant (null: the limit does not count it). */
  remainingRequests: z.number().int().min(0).nullable(),
  remainingTokens: z.number().int().min(0).nullable(),
});
export type LeaseResponse = z.infer<typeof LeaseResponse>;

export const aclAdminRateLimitsCreate = defineEndpoint(
  "acl",
  "admin.rate_limits.create",
  CreateRateLimitRequest,
  RateLimit.extend(Propagated),
);
export const aclAdminRateLimitsList = defineEndpoint(
  "acl",
  "admin.rate_limits.list",
  ListRequest,
  pageOf(RateLimit),
);
export const aclAdminRateLimitsGet = defineEndpoint(
  "acl",
  "admin.rate_limits.get",
  RateLimitIdRequest,
  RateLimit,
);
export const aclAdminRateLimitsDelete = defineEndpoint(
  "acl",
  "admin.rate_limits.delete",
  RateLimitIdRequest,
  RateLimit.extend(Propagated),
);
export const aclQuotaRules = defineEndpoint(
  "acl",
  "quota.rules",
  RateLimitRulesRequest,
  RateLimitRulesResponse,
);
export const aclQuotaLease = defineEndpoint("acl", "quota.lease", LeaseRequest, LeaseResponse);

/** How many budgets one gateway holds (its own cap: every ingress replica keeps them all in memory). */
export const BUDGETS_MAX = 10_000;

/** A budget as the admin API shows it, with its current period's spend. */
export const Budget = BudgetRule.extend({
  createdAt: IsoDateTime,
  createdBy: Uuid.nullable(),
  /** What the usage records of the current period cost (calls under the budget's scope). */
  spentUsd: z.number().min(0),
  remainingUsd: z.number().min(0),
  /** When the current period ends (UTC). */
  resetsAt: IsoDateTime,
});
export type Budget = z.infer<typeof Budget>;

export const CreateBudgetRequest = z
  .object({
    actor: Actor,
    subject: LimitSubject,
    account: AccountName.optional(),
    model: ModelName.optional(),
    maxUsd: z.number().positive().max(BUDGET_MAX_USD),
    period: BudgetPeriod,
    failOpen: z.boolean().default(false),
  })
  .refine((r) => r.model === undefined || r.account !== undefined, {
    message: "a model scope needs its provider_account (models are named per account)",
  });
/** The rate limits and budgets that apply to the caller. */
export const MyLimitsResponse = z.object({ rateLimits: z.array(RateLimit), budgets: z.array(Budget) });

export const BudgetIdRequest = z.object({ actor: Actor, budgetId: Uuid });

/** Every budget, in id order, a page at a time (ingress loads them with the rate limits). */
export const BudgetRulesResponse = z.object({ rules: z.array(BudgetRule), next: Uuid.nullable() });

/**
 * A replica asks for a slice of a budget's current period, in micro-USD. acl hands out
 * `min(want, max − max(handed out, spent))`: never more than the period holds, and what the usage
 * records say was spent counts even when replicas did not pay it (a replica that restarted in debt).
 */
/** An amount of a budget in micro-USD, as slices are leased and given back: at most a whole budget. */
const SliceMicroUsd = z
  .number()
  .int()
  .min(0)
  .max(BUDGET_MAX_USD * MICRO_USD);

export const BudgetLeaseRequest = z.object({ budgetId: Uuid, microUsd: SliceMicroUsd });
export type BudgetLeaseRequest = z.infer<typeof BudgetLeaseRequest>;
export const BudgetLeaseResponse = z.object({
  found: z.boolean(),
  /** How long the period (and so the slice) still lasts. */
  resetMs: z.number().int().min(0),
  microUsd: z.number().int().min(0),
  /** What the period still holds after this grant, in micro-USD. */
  remainingMicroUsd: z.number().int().min(0),
  /**
   * The period the slice is of (its start, ms since the epoch, UTC): what a replica names when it
   * gives the slice back. Absent from an acl older than `quota.budget_return` (nothing is returned).
   */
  periodStart: z.number().int().min(0).optional(),
});
export type BudgetLeaseResponse = z.infer<typeof BudgetLeaseResponse>;

/**
 * A replica that stops gracefully gives back what its slice of a budget still holds: acl lowers the
 * period's `handed out` by at most `microUsd` (never below 0), and only when `periodStart` is the
 * budget's current period (a slice of an ended period is worth nothing). A period never hands out
 * more than `max − max(handed out, spent)`, so a return cannot let calls spend past `max − spent`.
 */
export const BudgetReturnRequest = z.object({
  budgetId: Uuid,
  periodStart: z.number().int().min(0).max(8_640_000_000_000_000),
  microUsd: SliceMicroUsd,
});
export type BudgetReturnRequest = z.infer<typeof BudgetReturnRequest>;
export const BudgetReturnResponse = z.object({
  /** What acl took back: 0 for a deleted budget, an ended period or nothing handed out. */
  microUsd: z.number().int().min(0),
});
export type BudgetReturnResponse = z.infer<typeof BudgetReturnResponse>;

export const aclAdminBudgetsCreate = defineEndpoint(
  "acl",
  "admin.budgets.create",
  CreateBudgetRequest,
  Budget.extend(Propagated),
);
export const aclAdminBudgetsList = defineEndpoint("acl", "admin.budgets.list", ListRequest, pageOf(Budget));
export const aclAdminBudgetsGet = defineEndpoint("acl", "admin.budgets.get", BudgetIdRequest, Budget);
export const aclAdminBudgetsDelete = defineEndpoint(
  "acl",
  "admin.budgets.delete",
  BudgetIdRequest,
  Budget.extend(Propagated),
);
export const aclQuotaBudgets = defineEndpoint(
  "acl",
  "quota.budgets",
  RateLimitRulesRequest,
  BudgetRulesResponse,
);
export const aclQuotaBudgetLease = defineEndpoint(
  "acl",
  "quota.budget_lease",
  BudgetLeaseRequest,
  BudgetLeaseResponse,
);
export const aclQuotaBudgetReturn = defineEndpoint(
  "acl",
  "quota.budget_return",
  BudgetReturnRequest,
  BudgetReturnResponse,
);
export const aclLimitsMine = defineEndpoint("acl", "admin.limits.mine", MyLimitsRequest, MyLimitsResponse);
