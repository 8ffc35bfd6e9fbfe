import { auditTable, outboxTable } from "@gatehouse/access-events";
import type { AccountModel, AccountOptions } from "@gatehouse/contracts";
import { boolean, jsonb, pgSchema, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";

export const dispatchSchema = pgSchema("dispatch");
export const outbox = outboxTable(dispatchSchema);

// Application-clock timestamps in milliseconds, so cursors built from them round-trip exactly.
export const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date", precision: 3 });

export const providerAccounts = dispatchSchema.table(
  "provider_accounts",
  {
    id: uuid("id").primaryKey(),
    /** Validated against ACCOUNT_NAME_PATTERN (lowercase ASCII), so plain equality is the identity. */
    name: text("name").notNull(),
    type: text("type").notNull(),
    baseUrl: text("base_url"),
    options: jsonb("options").$type<AccountOptions>().notNull(),
    /** AES-256-GCM, bound to `id` (see crypto/credentials.ts); never leaves this service in clear. */
    credentialsCiphertext: text("credentials_ciphertext").notNull(),
    credentialsSet: boolean("credentials_set").notNull(),
    models: jsonb("models").$type<AccountModel[]>().notNull(),
    enabled: boolean("enabled").notNull(),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
    createdBy: uuid("created_by"),
  },
  (t) => [uniqueIndex("provider_accounts_name_key").on(t.name)],
);

export const auditEvents = auditTable(dispatchSchema);

export const schema = { providerAccounts, auditEvents, outbox };
export type DispatchSchema = typeof schema;
