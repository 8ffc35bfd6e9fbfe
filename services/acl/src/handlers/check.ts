import { type Route, route } from "@gatehouse/bus";
import { aclAccounts, aclCheck, aclTeamsOf } from "@gatehouse/contracts";
import { asc, inArray } from "drizzle-orm";
import type { AclContext } from "../context.js";
import { heldGrants, heldGrantsPage } from "../db/queries.js";
import { teamMembers } from "../db/schema.js";
import { accountsPage, decide } from "../domain/decide.js";

/** The hot-path questions ingress asks on a cache miss, and the teams of usage records: one indexed read each. */
export function checkRoutes(ctx: AclContext): Route[] {
  return [
    route(aclCheck, async (req) => {
      if (req.principal.kind === "user" && req.principal.role === "admin") {
        return decide(req.principal, [], req.minimumRole);
      }
      // The schema admits exactly one of the two: a route's grants never stand in for an account's.
      const held =
        req.route !== undefined
          ? await heldGrants(ctx.db, req.principal, req.route, "route")
          : req.account !== undefined
            ? await heldGrants(ctx.db, req.principal, req.account, "account")
            : [];
      return decide(req.principal, held, req.minimumRole);
    }),
    route(aclAccounts, async (req) => {
      // Virtual accounts hold direct grants only: heldGrantsPage reads no team grants for them.
      const held = await heldGrantsPage(ctx.db, req.principal, req.after, req.limit, req.resource);
      const all = req.principal.kind === "user" && req.principal.role === "admin";
      return { all, ...accountsPage(held, req.limit) };
    }),
    route(aclTeamsOf, async (req) => {
      const rows = await ctx.db
        .select({ userId: teamMembers.userId, teamId: teamMembers.teamId })
        .from(teamMembers)
        .where(inArray(teamMembers.userId, req.userIds))
        .orderBy(asc(teamMembers.teamId));
      const teams: Record<string, string[]> = Object.fromEntries(req.userIds.map((id) => [id, []]));
      for (const r of rows) teams[r.userId]?.push(r.teamId);
      return { teams };
    }),
  ];
}
