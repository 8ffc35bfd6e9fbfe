import { setTimeout as delay } from "node:timers/promises";
import type { Route } from "@gatehouse/bus";
import { IngressRoster, startOutboxRelay } from "@gatehouse/outbox";
import type { ServiceRuntime } from "@gatehouse/service-host";
import type { DispatchConfig } from "../config.js";
import { resolveMasterKey } from "../crypto/master-key.js";
import { outbox, schema } from "../db/schema.js";
import { accountRoutes } from "../handlers/accounts.js";
import { accountAuditRoutes } from "../handlers/accounts-audit.js";
import { catalogRoutes } from "../handlers/accounts-catalog.js";
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
  const relay = startOutboxRelay({
    db,
    table: outbox,
    source: "dispatch",
    nc: runtime.bus.nc,
    prefix: config.prefix,
    logger: runtime.logger,
  });
  runtime.onStop("outbox-relay", () => relay.stop());
  const roster = new IngressRoster(runtime.bus.nc, config.prefix, config.accessLeaseMs);
  runtime.onStop("ingress-roster", () => roster.close());
  const ctx: AccountsContext = {
    db,
    client: runtime.client,
    masterKey,
    logger: runtime.logger,
    now: () => new Date(),
    async propagate(sequence) {
      // Bounded: with NATS down the row stays committed and goes out when it returns.
      await Promise.race([relay.flush(), delay(config.accessLeaseMs)]);
      const result = await roster.confirm("dispatch", sequence);
      if (!result.complete) {
        runtime.logger.warn({ ...result }, "not every ingress replica confirmed an access event");
      }
    },
  };
  return { ctx, routes: [...accountRoutes(ctx), ...catalogRoutes(ctx), ...accountAuditRoutes(ctx)] };
}
