import { auditTable, outboxTable } from "@gatehouse/access-events";
import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

export const aclSchema = pgSchema("acl");
export const outbox = outboxTable(aclSchema);

// Application-clock timestamps in milliseconds, so keyset cursors built from them round-trip exactly.
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date", precision: 3 });

export const teams = aclSchema.table(
  "teams",
  {
    id: uuid("id").primaryKey(),
    name: text("name").notNull(),
    description: text("description").notNull(),
    createdAt: ts("created_at").notNull(),
    createdBy: uuid("created_by"),
  },
  (t) => [
    // Two teams that differ only by case would be indistinguishable in a grant list.
    uniqueIndex("teams_name_lower_key").on(sql`lower(${t.name})`),
    index("teams_page_idx").on(t.createdAt, t.id),
  ],
);

export const teamMembers = aclSchema.table(
  "team_members",
  {
    teamId: uuid("team_id")
      .notNull()
      .references(() => teams.id, { onDelete: "cascade" }),
    /** A user id owned by the auth service; acl cannot check it exists (no cross-service reads). */
    userId: uuid("user_id").notNull(),
    addedAt: ts("added_at").notNull(),
    addedBy: uuid("added_by"),
  },
  (t) => [
    primaryKey({ columns: [t.teamId, t.userId] }),
    index("team_members_user_idx").on(t.userId),
    index("team_members_page_idx").on(t.teamId, t.addedAt, t.userId),
  ],
);

export const grants = aclSchema.table(
  "grants",
  {
    id: uuid("id").primaryKey(),
    /** What `account` names: a provider account, or a route (both owned by dispatch). */
    resource: text("resource", { enum: ["account", "route"] })
      .notNull()
      .default("account"),
    /** A provider account or route name. dispatch clears a name's grants in its create and after its
     * delete, and a grant is inserted only for the resource the name stands for (`resourceNames`), so a
     * later account or route of the same name never inherits a grant (docs/access-control.md). */
    account: text("account").notNull(),
    subjectKind: text("subject_kind", { enum: ["user", "team", "virtual_account"] }).notNull(),
    subjectId: uuid("subject_id").notNull(),
    role: text("role", { enum: ["user", "manager"] }).notNull(),
    createdAt: ts("created_at").notNull(),
    createdBy: uuid("created_by"),
  },
  (t) => [
    uniqueIndex("grants_resource_subject_key").on(t.resource, t.account, t.subjectKind, t.subjectId),
    index("grants_subject_idx").on(t.subjectKind, t.subjectId),
    index("grants_resource_page_idx").on(t.resource, t.account, t.createdAt, t.id),
  ],
);

/**
 * Which account or route a name stands for now, as dispatch told acl (`acl.grants.clear`): the
 * resource's id from the create's clear, null (a tombstone) from the delete's. A grant is inserted
 * only for the id its request's existence check saw, under a share lock on this row that the clears
 * take exclusively: a grant checked against a deleted resource never lands on a new one of the name.
 * A name dispatch never announced (made before this table) is claimed by its first grant's id.
 */
export const resourceNames = aclSchema.table(
  "resource_names",
  {
    resource: text("resource", { enum: ["account", "route"] }).notNull(),
    name: text("name").notNull(),
    resourceId: uuid("resource_id"),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.resource, t.name] })],
);

/**
 * Resources dispatch said are gone (a delete's clear, or a create that failed after its clear was
 * sent): a create's clear for one of these ids that reaches acl late changes nothing, and a grant
 * request carrying one cannot claim a name acl never heard of. Kept a day (db/retired.ts).
 */
export const retiredResources = aclSchema.table(
  "retired_resources",
  {
    resourceId: uuid("resource_id").primaryKey(),
    retiredAt: ts("retired_at").notNull(),
  },
  // Rows are kept a day, then pruned by age (db/retired.ts): the prune reads this index, not the table.
  (t) => [index("retired_resources_retired_at_idx").on(t.retiredAt)],
);

/** Rate limits (docs/governance.md); every ingress replica holds them all and leases slices of them. */
export const rateLimits = aclSchema.table(
  "rate_limits",
  {
    id: uuid("id").primaryKey(),
    subjectKind: text("subject_kind", { enum: ["user", "team", "virtual_account"] }).notNull(),
    /** Null: the default for every subject of the kind without a limit of its own for the scope. */
    subjectId: uuid("subject_id"),
    account: text("account"),
    model: text("model"),
    requestsPerMinute: integer("requests_per_minute"),
    tokensPerMinute: integer("tokens_per_minute"),
    failOpen: boolean("fail_open").notNull(),
    createdAt: ts("created_at").notNull(),
    createdBy: uuid("created_by"),
  },
  (t) => [
    index("rate_limits_subject_idx").on(t.subjectKind, t.subjectId),
    index("rate_limits_page_idx").on(t.createdAt, t.id),
  ],
);

/** A window's subject for a limit on one subject (whose windows are its own): the nil UUID. */
export const OWN_WINDOW_SUBJECT = "00000000-0000-0000-0000-000000000000";

/**
 * Per limit, minute window and (for a default limit) subject: how much acl has handed out to
 * replicas as slices. Keyed window first, so dropping a limit's past windows is one index range.
 */
export const rateLimitWindows = aclSchema.table(
  "rate_limit_windows",
  {
    limitId: uuid("limit_id")
      .notNull()
      .references(() => rateLimits.id, { onDelete: "cascade" }),
    windowStart: bigint("window_start", { mode: "number" }).notNull(),
    subjectId: uuid("subject_id").notNull().default(OWN_WINDOW_SUBJECT),
    requests: bigint("requests", { mode: "number" }).notNull(),
    tokens: bigint("tokens", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.limitId, t.windowStart, t.subjectId] })],
);

/** Budgets (docs/governance.md): USD per UTC day, ISO week or calendar month. */
export const budgets = aclSchema.table(
  "budgets",
  {
    id: uuid("id").primaryKey(),
    subjectKind: text("subject_kind", { enum: ["user", "team", "virtual_account"] }).notNull(),
    subjectId: uuid("subject_id").notNull(),
    account: text("account"),
    model: text("model"),
    maxUsd: doublePrecision("max_usd").notNull(),
    period: text("period", { enum: ["day", "week", "month"] }).notNull(),
    failOpen: boolean("fail_open").notNull(),
    createdAt: ts("created_at").notNull(),
    createdBy: uuid("created_by"),
  },
  (t) => [
    index("budgets_subject_idx").on(t.subjectKind, t.subjectId),
    index("budgets_page_idx").on(t.createdAt, t.id),
  ],
);

/**
 * Per budget and period: micro-USD handed out to replicas as slices, USD the usage records say was
 * spent, and when the 80 % and 100 % webhooks went out (once per period each).
 */
export const budgetPeriods = aclSchema.table(
  "budget_periods",
  {
    budgetId: uuid("budget_id")
      .notNull()
      .references(() => budgets.id, { onDelete: "cascade" }),
    periodStart: bigint("period_start", { mode: "number" }).notNull(),
    handedMicroUsd: bigint("handed_micro_usd", { mode: "number" }).notNull(),
    spentUsd: doublePrecision("spent_usd").notNull(),
    thresholdAt: ts("threshold_at"),
    exhaustedAt: ts("exhausted_at"),
  },
  (t) => [primaryKey({ columns: [t.budgetId, t.periodStart] })],
);

/** Usage records already added to budgets: a redelivered record is counted once. */
export const budgetSpendRecords = aclSchema.table(
  "budget_spend_records",
  { recordId: uuid("record_id").primaryKey(), countedAt: ts("counted_at").notNull() },
  (t) => [index("budget_spend_records_counted_idx").on(t.countedAt)],
);

export const auditEvents = auditTable(aclSchema);

export const schema = {
  teams,
  teamMembers,
  grants,
  resourceNames,
  retiredResources,
  rateLimits,
  rateLimitWindows,
  budgets,
  budgetPeriods,
  budgetSpendRecords,
  auditEvents,
  outbox,
};
export type AclSchema = typeof schema;
