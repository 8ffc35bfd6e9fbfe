import { type Route, route } from "@gatehouse/bus";
import { CATALOG_READ_WAIT_MS, dispatchCatalogAccount, dispatchCatalogList } from "@gatehouse/contracts";
import type { AccountsContext } from "../accounts/context.js";
import { catalogAccount, catalogPage } from "../accounts/pages.js";
import { boundedRead } from "../routes/runner.js";

/**
 * What ingress resolves `<account>/<model>` against: names, enabled flags and model names/kinds,
 * one account at a time (a call) or a bounded page at a time (`GET /v1/models`). Disabled accounts
 * are included unless asked otherwise, so ingress can answer 403 (not 404) for them. A read that
 * takes over `CATALOG_READ_WAIT_MS` is answered 503 with Retry-After: 1, before ingress gives up.
 */
export function catalogRoutes(ctx: AccountsContext): Route[] {
  return [
    route(dispatchCatalogAccount, async (req) => ({
      account: await boundedRead(catalogAccount(ctx.db, req.name), CATALOG_READ_WAIT_MS),
    })),
    route(dispatchCatalogList, (req) =>
      boundedRead(
        catalogPage(ctx.db, { after: req.after, names: req.names, enabledOnly: req.enabledOnly }),
        CATALOG_READ_WAIT_MS,
      ),
    ),
  ];
}
