import { randomUUID } from "node:crypto";
import type { Actor } from "@gatehouse/contracts";
import type { AclDb, AclTx } from "../context.js";
import { auditEvents } from "./schema.js";

export interface AuditEntry {
  action: string;
  targetKind: string;
  targetId: string | null;
  outcome: "success" | "denied";
  detail?: Record<string, unknown>;
}

/** One audit row; written in the change's own transaction so the record and the change agree. */
export async function writeAudit(
  db: AclDb | AclTx,
  actor: Actor,
  at: Date,
  entry: AuditEntry,
): Promise<void> {
  await db.insert(auditEvents).values({
    id: randomUUID(),
    at,
    actorKind: actor.principal.kind,
    actorId: actor.principal.id,
    actorKeyId: actor.keyId,
    action: entry.action,
    targetKind: entry.targetKind,
    targetId: entry.targetId,
    requestId: actor.requestId,
    outcome: entry.outcome,
    detail: entry.detail ?? {},
  });
}
