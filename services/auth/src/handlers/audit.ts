import type { Route } from "@gatehouse/bus";
import { authAdminAuditList } from "@gatehouse/contracts";
import type { AuthContext } from "../context.js";
import { after, order } from "../db/queries.js";
import { auditEvents } from "../db/schema.js";
import { auditView } from "../db/views.js";
import { pageFrom } from "../domain/cursor.js";
import { requireAdmin } from "../domain/policy.js";
import { adminRoute } from "./common.js";

/** Newest first: the audit log is read to answer "what just happened". */
export function auditRoute(ctx: AuthContext): Route {
  return adminRoute(ctx, authAdminAuditList, async ({ actor, limit, cursor }) => {
    requireAdmin(actor);
    const rows = await ctx.db
      .select()
      .from(auditEvents)
      .where(after(auditEvents.at, auditEvents.id, cursor, "desc"))
      .orderBy(...order(auditEvents.at, auditEvents.id, "desc"))
      .limit(limit + 1);
    return pageFrom(rows, limit, (r) => ({ at: r.at, id: r.id }), auditView);
  });
}
