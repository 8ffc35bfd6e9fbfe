import { auditTable, outboxTable } from "@gatehouse/access-events";
import { sql } from "drizzle-orm";
import { index, pgSchema, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";

export const authSchema = pgSchema("auth");
export const outbox = outboxTable(authSchema);

// Timestamps are written from the application clock with millisecond precision (mode "date"), so
// keyset cursors built from them round-trip exactly.
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date", precision: 3 });

export const users = authSchema.table(
  "users",
  {
    id: uuid("id").primaryKey(),
    email: text("email").notNull(),
    name: text("name").notNull(),
    role: text("role", { enum: ["admin", "member"] }).notNull(),
    status: text("status", { enum: ["active", "deactivated"] }).notNull(),
    externalId: text("external_id"),
    createdAt: ts("created_at").notNull(),
    deactivatedAt: ts("deactivated_at"),
  },
  (t) => [
    // Emails are unique case-insensitively; the stored spelling is kept as given.
    uniqueIndex("users_email_lower_key").on(sql`lower(${t.email})`),
    uniqueIndex("users_external_id_key").on(t.externalId),
    index("users_page_idx").on(t.createdAt, t.id),
  ],
);

export const virtualAccounts = authSchema.table(
  "virtual_accounts",
  {
    id: uuid("id").primaryKey(),
    name: text("name").notNull(),
    description: text("description").notNull(),
    expiresAt: ts("expires_at"),
    createdAt: ts("created_at").notNull(),
    createdBy: uuid("created_by"),
    // Deleted accounts stay for the audit trail and their keys' history; the name is free again.
    deletedAt: ts("deleted_at"),
  },
  (t) => [
    uniqueIndex("virtual_accounts_name_live_key").on(t.name).where(sql`${t.deletedAt} is null`),
    index("virtual_accounts_page_idx").on(t.createdAt, t.id),
  ],
);

export const apiKeys = authSchema.table(
  "api_keys",
  {
    id: uuid("id").primaryKey(),
    kind: text("kind", { enum: ["pat", "vat"] }).notNull(),
    /** SHA-256 hex of the key text; the key itself is never stored. */
    keyHash: text("key_hash").notNull(),
    displayHint: text("display_hint").notNull(),
    name: text("name").notNull(),
    userId: uuid("user_id").references(() => users.id),
    virtualAccountId: uuid("virtual_account_id").references(() => virtualAccounts.id),
    createdAt: ts("created_at").notNull(),
    createdBy: uuid("created_by"),
    expiresAt: ts("expires_at"),
    lastUsedAt: ts("last_used_at"),
    revokedAt: ts("revoked_at"),
    revokedReason: text("revoked_reason"),
    replacedBy: uuid("replaced_by"),
  },
  (t) => [
    uniqueIndex("api_keys_hash_key").on(t.keyHash),
    index("api_keys_user_idx").on(t.userId, t.createdAt, t.id),
    index("api_keys_va_idx").on(t.virtualAccountId, t.createdAt, t.id),
  ],
);

export const auditEvents = auditTable(authSchema);

export const schema = { users, virtualAccounts, apiKeys, auditEvents, outbox };
export type AuthSchema = typeof schema;
