import { type Route, route } from "@gatehouse/bus";
import { type AclAuditEvent, aclAdminAuditList } from "@gatehouse/contracts";
import { and, desc, eq, lt, or } from "drizzle-orm";
import type { AclContext } from "../context.js";
import { decodeCursor, pageFrom } from "../db/cursor.js";
import { auditEvents } from "../db/schema.js";
import { requireAdmin } from "./common.js";

type AuditRow = typeof auditEvents.$inferSelect;

function auditView(row: AuditRow): AclAuditEvent {
  return {
    id: row.id,
    at: row.at.toISOString(),
    actorKind: row.actorKind,
    actorId: row.actorId,
    actorKeyId: row.actorKeyId,
    action: row.action,
    targetKind: row.targetKind,
    targetId: row.targetId,
    requestId: row.requestId,
    outcome: row.outcome,
    detail: row.detail,
  };
}

/** Newest first: an auditor reads from what just happened backwards. */
export function auditRoutes(ctx: AclContext): Route[] {
  return [
    route(aclAdminAuditList, async (req) => {
      await requireAdmin(ctx, req.actor, "audit.list", "audit", null);
      const before = decodeCursor(req.cursor);
      const rows = await ctx.db
        .select()
        .from(auditEvents)
        .where(
          before
            ? or(
                lt(auditEvents.at, before.at),
                and(eq(auditEvents.at, before.at), lt(auditEvents.id, before.id)),
              )
            : undefined,
        )
        .orderBy(desc(auditEvents.at), desc(auditEvents.id))
        .limit(req.limit + 1);
      return pageFrom(rows, req.limit, (r) => ({ at: r.at, id: r.id }), auditView);
    }),
  ];
}
