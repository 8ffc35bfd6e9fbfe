import { type Route, route } from "@gatehouse/bus";
import { type DispatchAuditEvent, dispatchAdminAuditList, GatehouseError } from "@gatehouse/contracts";
import { and, desc, eq, lt, or } from "drizzle-orm";
import type { AccountsContext } from "../accounts/context.js";
import { requireAdmin } from "../accounts/permissions.js";
import { auditEvents } from "../db/schema.js";

type AuditRow = typeof auditEvents.$inferSelect;

function view(row: AuditRow): DispatchAuditEvent {
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

function decode(cursor: string | undefined): { at: Date; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const m = /^(\d{1,15})\|([0-9a-f-]{36})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!m?.[1] || !m[2]) throw new GatehouseError("invalid_request", "cursor is not valid");
  return { at: new Date(Number(m[1])), id: m[2] };
}

/** Newest first. */
export function accountAuditRoutes(ctx: AccountsContext): Route[] {
  return [
    route(dispatchAdminAuditList, async (req) => {
      await requireAdmin(ctx, req.actor, "audit.list", null);
      const before = decode(req.cursor);
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
      const page = rows.slice(0, req.limit);
      const last = page[page.length - 1];
      return {
        items: page.map(view),
        nextCursor:
          rows.length > req.limit && last
            ? Buffer.from(`${last.at.getTime()}|${last.id}`, "utf8").toString("base64url")
            : null,
      };
    }),
  ];
}
