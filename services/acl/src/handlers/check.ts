import { type Route, route } from "@gatehouse/bus";
import { aclAccounts, aclCheck } from "@gatehouse/contracts";
import type { AclContext } from "../context.js";
import { heldGrants } from "../db/queries.js";
import { accountRoles, decide } from "../domain/decide.js";

/** The hot-path questions ingress asks on a cache miss: one indexed read each. */
export function checkRoutes(ctx: AclContext): Route[] {
  return [
    route(aclCheck, async (req) => {
      if (req.principal.kind === "user" && req.principal.role === "admin") {
        return decide(req.principal, [], req.minimumRole);
      }
      return decide(req.principal, await heldGrants(ctx.db, req.principal, req.account), req.minimumRole);
    }),
    route(aclAccounts, async (req) => {
      if (req.principal.kind === "user" && req.principal.role === "admin") {
        return { all: true, accounts: accountRoles(await heldGrants(ctx.db, req.principal)) };
      }
      const held = await heldGrants(ctx.db, req.principal);
      const usable = req.principal.kind === "virtual_account" ? held.filter((g) => g.via === "direct") : held;
      return { all: false, accounts: accountRoles(usable) };
    }),
  ];
}
