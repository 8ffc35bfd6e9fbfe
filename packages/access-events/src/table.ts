import type { AccessEventBody } from "@gatehouse/contracts";
import { sql } from "drizzle-orm";
import { bigint, index, jsonb, type pgSchema, text, timestamp } from "drizzle-orm/pg-core";

/**
 * The outbox table a service keeps in its own schema. Spread the result into the service's drizzle
 * schema file so drizzle-kit generates its migration with the rest:
 *   export const outbox = outboxTable(authSchema);
 */
export function outboxTable(schema: ReturnType<typeof pgSchema>) {
  return schema.table(
    "outbox",
    {
      /** Gap-free, in commit order (assigned under a transaction-scoped advisory lock). */
      sequence: bigint("sequence", { mode: "number" }).primaryKey(),
      type: text("type").notNull(),
      payload: jsonb("payload").$type<AccessEventBody>().notNull(),
      createdAt: timestamp("created_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
      publishedAt: timestamp("published_at", { withTimezone: true, mode: "string" }),
    },
    (t) => [index("outbox_unpublished_idx").on(t.sequence).where(sql`${t.publishedAt} is null`)],
  );
}

export type OutboxTable = ReturnType<typeof outboxTable>;
