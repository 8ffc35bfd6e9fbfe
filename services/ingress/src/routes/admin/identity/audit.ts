import { authAdminAuditList } from "@gatehouse/contracts";
import type { IngressContext } from "../../../context.js";
import { adminList, type ZodApp } from "../http.js";
import { AuditEventOut, auditOut } from "./views.js";

export function auditRoutes(app: ZodApp, ctx: IngressContext): void {
  adminList(app, ctx, {
    url: "/api/v1/audit-events",
    tags: ["audit"],
    summary: "Identity audit events, newest first (admin)",
    item: AuditEventOut,
    endpoint: authAdminAuditList,
    view: auditOut,
  });
}
