import { randomUUID } from "node:crypto";
import type { Actor } from "@gatehouse/contracts";
import type { Db, Tx } from "@gatehouse/db";
import { index, jsonb, type pgSchema, text, timestamp, uuid } from "drizzle-orm/pg-core";

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date", precision: 3 });

/**
 * The audit log every service that changes state keeps in its own schema, written in the same
 * transaction as the change it records. Spread into the service's drizzle schema like the outbox.
 */
export function auditTable(schema: ReturnType<typeof pgSchema>) {
  return schema.table(
    "audit_events",
    {
      id: uuid("id").primaryKey(),
      at: ts("at").notNull(),
      actorKind: text("actor_kind", { enum: ["user", "virtual_account", "system"] }).notNull(),
      actorId: uuid("actor_id"),
      actorKeyId: uuid("actor_key_id"),
      action: text("action").notNull(),
      targetKind: text("target_kind").notNull(),
      targetId: text("target_id"),
      requestId: text("request_id"),
      outcome: text("outcome", { enum: ["success", "denied"] }).notNull(),
      detail: jsonb("detail").$type<Record<string, unknown>>().notNull(),
    },
    (t) => [index("audit_events_page_idx").on(t.at, t.id)],
  );
}

export type AuditTable = ReturnType<typeof auditTable>;

export interface AuditEntry {
  action: string;
  targetKind: string;
  targetId: string | null;
  outcome?: "success" | "denied";
  detail?: Record<string, unknown>;
}

/** One audit row, by an authenticated actor or by the system itself (bootstrap, webhooks). */
export async function insertAudit(
  // biome-ignore lint/suspicious/noExplicitAny: any service's schema; only the audit table is touched.
  db: Db<any> | Tx<any>,
  table: AuditTable,
  actor: Actor | "system",
  entry: AuditEntry,
  at: Date,
): Promise<void> {
  const system = actor === "system";
  await db.insert(table).values({
    id: randomUUID(),
    at,
    actorKind: system ? "system" : actor.principal.kind,
    actorId: system ? null : actor.principal.id,
    actorKeyId: system ? null : actor.keyId,
    action: entry.action,
    targetKind: entry.targetKind,
    targetId: entry.targetId,
    requestId: system ? null : actor.requestId,
    outcome: entry.outcome ?? "success",
    detail: entry.detail ?? {},
  });
}
