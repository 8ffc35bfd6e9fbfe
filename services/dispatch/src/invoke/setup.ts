import { createHash } from "node:crypto";
import { ensureStream, type RawRoute, type Route, usageStream } from "@gatehouse/bus";
import type { ServiceRuntime } from "@gatehouse/service-host";
import type { AccountsContext } from "../accounts/context.js";
import { loadAccount } from "../accounts/load.js";
import type { DispatchConfig } from "../config.js";
import { responses as responsesTable } from "../db/responses-schema.js";
import { providerAccounts } from "../db/schema.js";
import { usageDaily, usageDailyAccounts, usageRecords } from "../db/usage-schema.js";
import { usageRoutes } from "../handlers/usage.js";
import { observeFailedAttempt } from "../metrics/observe.js";
import { responsesRoutes, startResponsePurge } from "../responses/handlers.js";
import type { ResponsesDeps } from "../responses/session.js";
import { ResponseStore } from "../responses/store.js";
import { TargetHealth } from "../routes/health.js";
import { RoutePlans } from "../routes/plans.js";
import { RouteRunner } from "../routes/runner.js";
import { startUsageConsumer } from "../usage/consumer.js";
import { teamsFromAcl } from "../usage/teams.js";
import { type AccountSource, dropOnAccountEvents, ProviderClients } from "./clients.js";
import { pricesOf } from "./cost.js";
import { invokeRoute } from "./handler.js";
import { UsagePublisher } from "./usage.js";

/** Expired responses already read as gone; the purge only gives their space back. */
const RESPONSE_PURGE_INTERVAL_MS = 10 * 60_000;
/**
 * How long a stop waits for calls still under way to end before their records are published (the
 * whole stop has 10 s; a stream longer than this is cut when the provider clients close, and its
 * record, added then, is still published before NATS drains).
 */
const USAGE_STOP_WAIT_MS = 5_000;
/**
 * The invoke half of dispatch: provider clients per account (pooled keep-alive HTTP), the
 * `dispatch.invoke` endpoint and the usage-record consumer.
 */
export async function setupInvoke(
  config: DispatchConfig,
  runtime: ServiceRuntime,
  accounts: AccountsContext,
): Promise<{ routes: Array<RawRoute | Route>; clients: ProviderClients }> {
  const source: AccountSource = {
    async load(name) {
      const row = await loadAccount(accounts.db, accounts.masterKey, name);
      if (!row) return undefined;
      const account = {
        name: row.name,
        type: row.type,
        baseUrl: row.baseUrl,
        credentials: row.credentials,
        options: row.options as Record<string, unknown>,
      };
      // A new client (and connection pool) whenever anything that shapes the upstream call changes.
      const version = createHash("sha256").update(JSON.stringify(account)).digest("hex");
      return { account, enabled: row.enabled, prices: pricesOf(row.models), version };
    },
  };
  const metrics = runtime.metrics;
  const clients = new ProviderClients(
    source,
    { ...config.upstream, egress: accounts.egress },
    config.accountCacheTtlMs,
    (account, reason) => metrics.upstreamRetry(metrics.accounts.value(account), reason),
  );
  const plans = new RoutePlans(accounts.db, config.accountCacheTtlMs);
  const health = new TargetHealth();
  const accountEvents = dropOnAccountEvents(runtime.bus.nc, config.prefix, clients, {
    drop: (name) => plans.drop(name),
    clear: () => plans.clear(),
    forget: (name) => health.forgetRoute(name),
  });
  runtime.onStop("provider-clients", () => {
    accountEvents.unsubscribe();
    return clients.close();
  });
  await ensureStream(await runtime.bus.nc.jetstreamManager(), usageStream(config.prefix));
  const consumer = await startUsageConsumer({
    nc: runtime.bus.nc,
    prefix: config.prefix,
    db: runtime.database.drizzle({ usageRecords }),
    logger: runtime.logger,
    teamsOf: teamsFromAcl(runtime.client),
    onStored: (stage, count) => metrics.usageRecordsAt(stage, count),
  });
  runtime.onStop("usage-consumer", () => consumer.stop());
  const usage = new UsagePublisher(runtime.bus.nc, config.prefix, runtime.logger, 200, config.usageFlushMs, {
    onPublished: (stage, count) => metrics.usageRecordsAt(stage, count),
  });
  const unwatch = [
    metrics.gauge(
      "gatehouse_usage_records_buffered",
      "Usage records in dispatch's memory, not yet published to JetStream (a flush interval's, and any it refused)",
      () => usage.pending,
    ),
    metrics.gauge(
      "gatehouse_usage_batches_unstored",
      "Usage batches (messages of up to 200 records) in JetStream not yet stored in Postgres",
      () => consumer.unstored(),
    ),
  ];
  runtime.onStop("usage-gauges", () => {
    for (const off of unwatch) off();
  });
  // Registered after the consumer, so it runs first on stop: pending records go out before NATS drains,
  // and those of calls still under way as they end (waited for up to USAGE_STOP_WAIT_MS).
  runtime.onStop("usage-publisher", () => usage.close(USAGE_STOP_WAIT_MS));
  const responses: ResponsesDeps = {
    store: new ResponseStore(runtime.database.drizzle({ responses: responsesTable })),
    storeDays: config.responseStoreDays,
    logger: runtime.logger,
  };
  const purge = startResponsePurge(responses, RESPONSE_PURGE_INTERVAL_MS);
  runtime.onStop("response-purge", () => purge.stop());
  const route = invokeRoute({
    nc: runtime.bus.nc,
    prefix: config.prefix,
    logger: runtime.logger,
    clients,
    routing: new RouteRunner(
      plans,
      clients,
      (account, code) => observeFailedAttempt(metrics, account, code),
      health,
    ),
    usage,
    metrics,
    responses,
    maxResponseBytes: config.upstream.maxResponseBytes,
    streamCreditTimeoutMs: config.streamCreditTimeoutMs,
  });
  const usageDb = runtime.database.drizzle({ usageRecords, usageDaily, usageDailyAccounts });
  const accountsDb = runtime.database.drizzle({ providerAccounts });
  // Within ingress's admin timeout: a query its caller gave up on does not start, nor run on (Postgres).
  const usageLimits = {
    timeoutMs: config.usageQueryTimeoutMs,
    statementTimeout: runtime.database.kind === "postgres",
  };
  return {
    routes: [
      route,
      ...responsesRoutes(responses, clients),
      ...usageRoutes(usageDb, accountsDb, runtime.client, usageLimits),
    ],
    clients,
  };
}
