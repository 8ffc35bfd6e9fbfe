import { z } from "zod";
import { Actor, IsoDateTime, pageOf, Uuid } from "./common.js";
import { AccountName, ModelName } from "./dispatch.js";
import { Operation } from "./invoke.js";
import { defineEndpoint } from "./subjects.js";

/**
 * Reading usage records (`GET /api/v1/usage`, `GET /api/v1/usage/records`), answered by dispatch,
 * which stores them. Tenant admins see every record; anyone else sees their own calls and the calls
 * to the provider accounts they manage.
 */

/** What `GET /api/v1/usage` can group by; `team` counts a call once for each of its teams. */
export const UsageGroup = z.enum([
  "principal",
  "user",
  "virtual_account",
  "team",
  "provider_account",
  "model",
  "day",
]);
export type UsageGroup = z.infer<typeof UsageGroup>;

/** The longest range one usage query covers, and the most groups one answer holds (one NATS message). */
export const USAGE_MAX_RANGE_DAYS = 366;
export const USAGE_MAX_GROUPS = 2_000;
export const USAGE_RECORDS_PAGE_MAX = 1_000;
/**
 * A records page also ends before its items' JSON passes this many bytes (a user in many teams makes
 * large records): a page stays well inside one NATS message and one HTTP answer, JSON or CSV.
 */
export const USAGE_RECORDS_PAGE_MAX_BYTES = 512 * 1024;

export const UsageFilters = {
  /** Inclusive start of the range. */
  from: IsoDateTime,
  /** Exclusive end of the range. */
  to: IsoDateTime,
  account: AccountName.optional(),
  model: ModelName.optional(),
  principalId: Uuid.optional(),
  teamId: Uuid.optional(),
};

export const UsageSummaryRequest = z.object({
  actor: Actor,
  groupBy: z.array(UsageGroup).max(UsageGroup.options.length),
  ...UsageFilters,
});
export type UsageSummaryRequest = z.input<typeof UsageSummaryRequest>;

/** One group's totals; only the fields of the requested groups are present. */
export const UsageGroupTotals = z.object({
  day: z.string().optional(),
  principalKind: z.enum(["user", "virtual_account"]).optional(),
  principalId: Uuid.optional(),
  userId: Uuid.nullable().optional(),
  virtualAccountId: Uuid.nullable().optional(),
  teamId: Uuid.nullable().optional(),
  providerAccount: z.string().optional(),
  model: z.string().optional(),
  requests: z.number().int(),
  errors: z.number().int(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  cachedTokens: z.number().int(),
  /** Sum of the priced calls' cost; null when no call in the group had a price. */
  costUsd: z.number().nullable(),
});
export type UsageGroupTotals = z.infer<typeof UsageGroupTotals>;
export const UsageSummary = z.object({ groups: z.array(UsageGroupTotals).max(USAGE_MAX_GROUPS) });

export const UsageRecordsRequest = z.object({
  actor: Actor,
  ...UsageFilters,
  limit: z.number().int().min(1).max(USAGE_RECORDS_PAGE_MAX).default(100),
  cursor: z.string().max(512).optional(),
});
export type UsageRecordsRequest = z.input<typeof UsageRecordsRequest>;

/** A stored usage record as the API shows it. */
export const StoredUsageRecord = z.object({
  id: Uuid,
  requestId: z.string(),
  at: IsoDateTime,
  principalKind: z.enum(["user", "virtual_account"]),
  principalId: Uuid,
  keyId: Uuid,
  teamIds: z.array(Uuid).nullable(),
  providerAccount: z.string(),
  model: z.string(),
  route: z.string().nullable(),
  operation: Operation,
  stream: z.boolean(),
  status: z.number().int(),
  inputTokens: z.number().int().nullable(),
  outputTokens: z.number().int().nullable(),
  cachedTokens: z.number().int().nullable(),
  estimated: z.boolean(),
  costUsd: z.number().nullable(),
  durationMs: z.number().int(),
  ttftMs: z.number().int().nullable(),
});
export type StoredUsageRecord = z.infer<typeof StoredUsageRecord>;

export const dispatchAdminUsageSummary = defineEndpoint(
  "dispatch",
  "admin.usage.summary",
  UsageSummaryRequest,
  UsageSummary,
);
export const dispatchAdminUsageRecords = defineEndpoint(
  "dispatch",
  "admin.usage.records",
  UsageRecordsRequest,
  pageOf(StoredUsageRecord),
);
