import { startAdminChanges } from "@gatehouse/access-events";
import type { Route } from "@gatehouse/bus";
import { dispatchAdminAuditList } from "@gatehouse/contracts";
import { EgressPolicy } from "@gatehouse/egress";
import type { ServiceRuntime } from "@gatehouse/service-host";
import type { DispatchConfig } from "../config.js";
import { resolveMasterKey } from "../crypto/master-key.js";
import { auditEvents, outbox, schema } from "../db/schema.js";
import { accountRoutes } from "../handlers/accounts.js";
import { catalogRoutes } from "../handlers/accounts-catalog.js";
import { accountUpdateRoute } from "../handlers/accounts-update.js";
import { routeAdminRoutes } from "../handlers/routes.js";
import { CatalogReads } from "./catalog-reads.js";
import type { AccountsContext } from "./context.js";

/**
 * The provider-account half of dispatch: master key, outbox relay, ingress roster and the admin
 * and catalog routes. Returns the context too, so the invoke path can reuse `db` and `masterKey`.
 */
export async function setupAccounts(
  config: DispatchConfig,
  runtime: ServiceRuntime,
): Promise<{ ctx: AccountsContext; routes: Route[] }> {
  const masterKey = await resolveMasterKey(config, runtime.logger);
  const db = runtime.database.drizzle(schema);
  const changes = startAdminChanges(runtime, {
    db,
    source: "dispatch",
    outbox,
    audit: auditEvents,
    leaseMs: config.accessLeaseMs,
  });
  const egress = new EgressPolicy(config.egress);
  runtime.logger.info({ egress: egress.describe() }, "egress policy: public addresses, plus these");
  const ctx: AccountsContext = {
    db,
    client: runtime.client,
    masterKey,
    egress,
    oneConnection: runtime.database.kind === "pglite",
    logger: runtime.logger,
    now: () => new Date(),
    changes,
  };
  // One bound for every catalog read this process runs, account or route.
  const reads = new CatalogReads();
  return {
    ctx,
    routes: [
      ...accountRoutes(ctx),
      accountUpdateRoute(ctx),
      ...catalogRoutes(ctx, reads),
      ...routeAdminRoutes(ctx, reads),
      changes.auditRoute(dispatchAdminAuditList),
    ],
  };
}
