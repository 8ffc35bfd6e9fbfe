import { type AuditEntry, insertAudit } from "@gatehouse/access-events";
import type { Actor } from "@gatehouse/contracts";
import type { AclDb, AclTx } from "../context.js";
import { auditEvents } from "./schema.js";

export type { AuditEntry };

/** One audit row; written in the change's own transaction so the record and the change agree. */
export function writeAudit(db: AclDb | AclTx, actor: Actor, at: Date, entry: AuditEntry): Promise<void> {
  return insertAudit(db, auditEvents, actor, entry, at);
}
