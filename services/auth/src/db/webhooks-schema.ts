import { sql } from "drizzle-orm";
import { index, integer, jsonb, primaryKey, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { apiKeys, authSchema } from "./schema.js";

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date", precision: 3 });

/**
 * Secrets that sign inbound revocation webhooks. HMAC needs the secret itself, so it cannot be
 * hashed: it is stored AES-256-GCM encrypted under AUTH_WEBHOOK_KEY and never returned after creation.
 * Several may be live at once so a sender can rotate without downtime.
 */
export const webhookSecrets = authSchema.table(
  "webhook_secrets",
  {
    id: uuid("id").primaryKey(),
    name: text("name").notNull(),
    secretCiphertext: text("secret_ciphertext").notNull(),
    createdAt: ts("created_at").notNull(),
    createdBy: uuid("created_by"),
  },
  (t) => [index("webhook_secrets_page_idx").on(t.createdAt, t.id)],
);

/** Every inbound `webhook-id` ever applied, written in the transaction of the change it caused. */
export const webhookReceipts = authSchema.table("webhook_receipts", {
  webhookId: text("webhook_id").primaryKey(),
  receivedAt: ts("received_at").notNull(),
  type: text("type").notNull(),
  matched: text("matched", { enum: ["yes", "no"] }).notNull(),
});

/** Where outbound events go; the signing secret is encrypted like the inbound ones. */
export const webhookEndpoints = authSchema.table(
  "webhook_endpoints",
  {
    id: uuid("id").primaryKey(),
    url: text("url").notNull(),
    description: text("description").notNull(),
    eventTypes: jsonb("event_types").$type<string[]>().notNull(),
    secretCiphertext: text("secret_ciphertext").notNull(),
    createdAt: ts("created_at").notNull(),
    createdBy: uuid("created_by"),
  },
  (t) => [index("webhook_endpoints_page_idx").on(t.createdAt, t.id)],
);

/**
 * The durable outbound queue: one row per (endpoint, event), enqueued in the transaction of the
 * change. `dedupKey` makes enqueueing from a redelivered stream message idempotent.
 */
export const webhookDeliveries = authSchema.table(
  "webhook_deliveries",
  {
    id: uuid("id").primaryKey(),
    endpointId: uuid("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    eventType: text("event_type").notNull(),
    dedupKey: text("dedup_key"),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    status: text("status", { enum: ["pending", "delivered", "failed"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: ts("next_attempt_at"),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    createdAt: ts("created_at").notNull(),
    deliveredAt: ts("delivered_at"),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_dedup_key").on(t.endpointId, t.dedupKey),
    index("webhook_deliveries_due_idx").on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    index("webhook_deliveries_page_idx").on(t.createdAt, t.id),
  ],
);

/** Keys already announced as expiring soon: the periodic scan notifies each key once. */
export const keyExpiryNotices = authSchema.table(
  "key_expiry_notices",
  {
    keyId: uuid("key_id")
      .notNull()
      .references(() => apiKeys.id),
    notifiedAt: ts("notified_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.keyId] })],
);
