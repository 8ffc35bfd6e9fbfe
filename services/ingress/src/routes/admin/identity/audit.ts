import { authAdminAuditList } from "@gatehouse/contracts";
import type { IngressContext } from "../../../context.js";
import type { ZodApp } from "./index.js";
import { AuditEventOut, actorOf, auditOut, listOf, PageQuery, page, pageArgs } from "./views.js";

export function auditRoutes(app: ZodApp, ctx: IngressContext): void {
  app.get(
    "/api/v1/audit-events",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ["audit"],
        summary: "Identity audit events, newest first (admin)",
        querystring: PageQuery,
        response: { 200: listOf(AuditEventOut) },
      },
    },
    async (request) =>
      page(
        await ctx.client.request(authAdminAuditList, { actor: actorOf(request), ...pageArgs(request.query) }),
        auditOut,
      ),
  );
}
