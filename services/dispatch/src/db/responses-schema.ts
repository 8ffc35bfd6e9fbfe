import { sql } from "drizzle-orm";
import { boolean, index, jsonb, text, uuid } from "drizzle-orm/pg-core";
import { dispatchSchema, ts } from "./schema.js";

/**
 * Every response id Gatehouse handed out, with its owner: a provider's own (native: only the owner,
 * the account and the output item ids are kept) or Gatehouse's (translated, with
 * GATEHOUSE_RESPONSE_STORE_DAYS set: also what a later `previous_response_id` needs). A row past
 * `expires_at` counts as gone at once; a periodic purge deletes it.
 */
export const responses = dispatchSchema.table(
  "responses",
  {
    id: text("id").primaryKey(),
    ownerKind: text("owner_kind").notNull(),
    ownerId: uuid("owner_id").notNull(),
    account: text("account").notNull(),
    model: text("model").notNull(),
    /** The provider keeps the response; Gatehouse keeps only who owns it. */
    native: boolean("native").notNull(),
    /** Ids of the items an `item_reference` may name: the output (and, translated, the input) items. */
    itemIds: text("item_ids").array().notNull().default(sql`'{}'::text[]`),
    /** Translated only: the conversation before this response, this request's input items, the Response object. */
    history: jsonb("history").$type<unknown[]>(),
    input: jsonb("input").$type<unknown[]>(),
    response: jsonb("response").$type<Record<string, unknown>>(),
    createdAt: ts("created_at").notNull(),
    expiresAt: ts("expires_at").notNull(),
  },
  (t) => [
    index("responses_expires_at_idx").on(t.expiresAt),
    index("responses_item_ids_idx").using("gin", t.itemIds),
  ],
);
