import { bigint, boolean, index, integer, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { dispatchSchema } from "./schema.js";

/** One row per completed provider call; written from the usage stream, idempotent on request id. */
export const usageRecords = dispatchSchema.table(
  "usage_records",
  {
    requestId: text("request_id").primaryKey(),
    at: timestamp("at", { withTimezone: true, mode: "string" }).notNull(),
    account: text("account").notNull(),
    model: text("model").notNull(),
    /** The route the caller named (account/model are then the target that answered). */
    route: text("route"),
    operation: text("operation").notNull(),
    principalKind: text("principal_kind").notNull(),
    principalId: uuid("principal_id").notNull(),
    keyId: uuid("key_id").notNull(),
    status: integer("status").notNull(),
    stream: boolean("stream").notNull(),
    promptTokens: bigint("prompt_tokens", { mode: "number" }),
    completionTokens: bigint("completion_tokens", { mode: "number" }),
    totalTokens: bigint("total_tokens", { mode: "number" }),
    durationMs: integer("duration_ms").notNull(),
  },
  (t) => [
    index("usage_records_account_at_idx").on(t.account, t.at),
    index("usage_records_principal_at_idx").on(t.principalId, t.at),
  ],
);
