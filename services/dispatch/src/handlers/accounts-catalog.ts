import { type Route, route } from "@gatehouse/bus";
import { dispatchCatalogAccount, dispatchCatalogList } from "@gatehouse/contracts";
import { CatalogReads } from "../accounts/catalog-reads.js";
import type { AccountsContext } from "../accounts/context.js";
import { catalogAccount, catalogPage } from "../accounts/pages.js";

/**
 * What ingress resolves `<account>/<model>` against: names, enabled flags and model names/kinds,
 * one account at a time (a call) or a bounded page at a time (`GET /v1/models`). Disabled accounts
 * are included unless asked otherwise, so ingress can answer 403 (not 404) for them. A read that
 * takes over `CATALOG_READ_WAIT_MS` is answered 503 with Retry-After: 1, before ingress gives up,
 * and past `reads`' bound of reads running (a database that hangs) a lookup is refused at once.
 */
export function catalogRoutes(ctx: AccountsContext, reads: CatalogReads = new CatalogReads()): Route[] {
  return [
    route(dispatchCatalogAccount, async (req) => ({
      account: await reads.read(() => catalogAccount(ctx.db, req.name)),
    })),
    route(dispatchCatalogList, (req) =>
      reads.read(() =>
        catalogPage(ctx.db, { after: req.after, names: req.names, enabledOnly: req.enabledOnly }),
      ),
    ),
  ];
}
