import { auditTable, outboxTable } from "@gatehouse/access-events";
import type { AccountModel, AccountOptions, FallbackOn, RouteTarget } from "@gatehouse/contracts";
import { sql } from "drizzle-orm";
import {
  boolean,
  index,
  integer,
  jsonb,
  pgSchema,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

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

/**
 * Routes: a name apps call, over `<account>/<model>` targets of this service's own accounts. The
 * targets live here (never in a request), so the route decision is the only source of them.
 */
export const modelRoutes = dispatchSchema.table(
  "routes",
  {
    id: uuid("id").primaryKey(),
    name: text("name").notNull(),
    kind: text("kind", { enum: ["chat", "embedding", "completion"] }).notNull(),
    strategy: text("strategy", { enum: ["priority", "weighted", "least-busy"] }).notNull(),
    targets: jsonb("targets").$type<RouteTarget[]>().notNull(),
    /** The target accounts, for "which routes use this account" (an account is not deleted under a route). */
    accounts: text("accounts").array().notNull(),
    fallbackOn: jsonb("fallback_on").$type<FallbackOn[]>().notNull(),
    firstByteTimeoutMs: integer("first_byte_timeout_ms").notNull(),
    cooldownMs: integer("cooldown_ms").notNull(),
    failureThreshold: integer("failure_threshold").notNull(),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
    createdBy: uuid("created_by"),
  },
  (t) => [
    // `GPT-4o` and `gpt-4o` would be two names for what an app means as one.
    uniqueIndex("routes_name_lower_key").on(sql`lower(${t.name})`),
    index("routes_page_idx").on(t.createdAt, t.id),
    index("routes_accounts_idx").using("gin", t.accounts),
  ],
);

export const auditEvents = auditTable(dispatchSchema);

export const schema = { providerAccounts, modelRoutes, auditEvents, outbox };
export type DispatchSchema = typeof schema;
