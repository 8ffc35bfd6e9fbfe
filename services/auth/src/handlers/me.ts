import type { Route } from "@gatehouse/bus";
import { authAdminMe } from "@gatehouse/contracts";
import type { AuthContext } from "../context.js";
import { getLiveVirtualAccount, getUser } from "../db/queries.js";
import { userView, virtualAccountView } from "../db/views.js";
import { adminRoute } from "./common.js";

export function meRoute(ctx: AuthContext): Route {
  return adminRoute(ctx, authAdminMe, async ({ actor }) => {
    const { principal } = actor;
    return {
      principal,
      keyId: actor.keyId,
      user: principal.kind === "user" ? userView(await getUser(ctx.db, principal.id)) : null,
      virtualAccount:
        principal.kind === "virtual_account"
          ? virtualAccountView(await getLiveVirtualAccount(ctx.db, principal.id))
          : null,
    };
  });
}
