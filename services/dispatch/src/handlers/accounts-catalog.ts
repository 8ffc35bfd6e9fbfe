import { type Route, route } from "@gatehouse/bus";
import { dispatchCatalogAccount, dispatchCatalogList } from "@gatehouse/contracts";
import type { AccountsContext } from "../accounts/context.js";
import { catalogAccount, catalogPage } from "../accounts/pages.js";

/**
 * What ingress resolves `<account>/<model>` against: names, enabled flags and model names/kinds,
 * one account at a time (a call) or a bounded page at a time (`GET /v1/models`). Disabled accounts
 * are included unless asked otherwise, so ingress can answer 403 (not 404) for them.
 */
export function catalogRoutes(ctx: AccountsContext): Route[] {
  return [
    route(dispatchCatalogAccount, async (req) => ({ account: await catalogAccount(ctx.db, req.name) })),
    route(dispatchCatalogList, (req) =>
      catalogPage(ctx.db, { after: req.after, names: req.names, enabledOnly: req.enabledOnly }),
    ),
  ];
}
