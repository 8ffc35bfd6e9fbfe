import {
  bigint,
  boolean,
  date,
  index,
  integer,
  numeric,
  primaryKey,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";
import { dispatchSchema } from "./schema.js";

/** USD with a billionth of a dollar's precision: a one-token call at the cheapest prices still shows. */
const usd = (name: string) => numeric(name, { precision: 24, scale: 9, mode: "number" });

/** The sums every totals table keeps for its key. */
const totals = () => ({
  requests: bigint("requests", { mode: "number" }).notNull(),
  errors: bigint("errors", { mode: "number" }).notNull(),
  inputTokens: bigint("input_tokens", { mode: "number" }).notNull(),
  outputTokens: bigint("output_tokens", { mode: "number" }).notNull(),
  cachedTokens: bigint("cached_tokens", { mode: "number" }).notNull(),
  costUsd: usd("cost_usd"),
});

/**
 * One row per call that reached dispatch (completed, failed, refused there or cancelled); written
 * from the usage stream, idempotent on the record's id (chosen by dispatch, never by the caller).
 */
export const usageRecords = dispatchSchema.table(
  "usage_records",
  {
    id: uuid("id").primaryKey(),
    requestId: text("request_id").notNull(),
    at: timestamp("at", { withTimezone: true, mode: "string" }).notNull(),
    account: text("account").notNull(),
    model: text("model").notNull(),
    /** The route the caller named (account/model are then the target that answered). */
    route: text("route"),
    operation: text("operation").notNull(),
    principalKind: text("principal_kind").notNull(),
    principalId: uuid("principal_id").notNull(),
    keyId: uuid("key_id").notNull(),
    teamIds: uuid("team_ids").array(),
    status: integer("status").notNull(),
    stream: boolean("stream").notNull(),
    promptTokens: bigint("prompt_tokens", { mode: "number" }),
    completionTokens: bigint("completion_tokens", { mode: "number" }),
    totalTokens: bigint("total_tokens", { mode: "number" }),
    cachedTokens: bigint("cached_tokens", { mode: "number" }),
    /** Counted by Gatehouse (an aborted stream), not reported by the provider. */
    estimated: boolean("estimated").notNull().default(false),
    /** At the model's prices when the call was made; null when it had none. */
    costUsd: usd("cost_usd"),
    durationMs: integer("duration_ms").notNull(),
    ttftMs: integer("ttft_ms"),
  },
  (t) => [
    index("usage_records_account_at_idx").on(t.account, t.at),
    index("usage_records_principal_at_idx").on(t.principalId, t.at),
    // Record pages newest first, and the partial days at the edges of an aggregate's range.
    index("usage_records_at_idx").on(t.at, t.id),
    index("usage_records_request_idx").on(t.requestId),
  ],
);

/**
 * Daily totals per account, model, principal and team set (UTC days), kept in the same statement
 * that stores the records (see usage-insert.ts), so `GET /api/v1/usage` reads a few rows per day
 * instead of every record.
 */
export const usageDaily = dispatchSchema.table(
  "usage_daily",
  {
    day: date("day", { mode: "string" }).notNull(),
    account: text("account").notNull(),
    model: text("model").notNull(),
    principalKind: text("principal_kind").notNull(),
    principalId: uuid("principal_id").notNull(),
    teamIds: uuid("team_ids").array().notNull(),
    ...totals(),
  },
  (t) => [
    primaryKey({ columns: [t.day, t.account, t.model, t.principalKind, t.principalId, t.teamIds] }),
    index("usage_daily_principal_day_idx").on(t.principalId, t.day),
    index("usage_daily_account_day_idx").on(t.account, t.day),
  ],
);

/**
 * Daily totals per account and model only: what a tenant-wide question (a month by day and account)
 * reads, a few thousand rows a month however many principals there are. Kept in the same statement.
 */
export const usageDailyAccounts = dispatchSchema.table(
  "usage_daily_accounts",
  {
    day: date("day", { mode: "string" }).notNull(),
    account: text("account").notNull(),
    model: text("model").notNull(),
    ...totals(),
  },
  (t) => [primaryKey({ columns: [t.day, t.account, t.model] })],
);

/**
 * Hourly totals per account and model (UTC hours), kept in the same statement: a tenant-wide question
 * over a range that starts or ends mid-day reads the whole hours of its two partial days here, and
 * only the records of the two partial hours at its very edges.
 */
export const usageHourlyAccounts = dispatchSchema.table(
  "usage_hourly_accounts",
  {
    hour: timestamp("hour", { withTimezone: true, mode: "string" }).notNull(),
    account: text("account").notNull(),
    model: text("model").notNull(),
    ...totals(),
  },
  (t) => [primaryKey({ columns: [t.hour, t.account, t.model] })],
);
