import { join } from "node:path";
import { buildApp as buildAcl, loadConfig as loadAclConfig } from "@gatehouse/acl";
import { buildApp as buildAuth, loadConfig as loadAuthConfig } from "@gatehouse/auth";
import { connectBus, type NatsSecurity } from "@gatehouse/bus";
import { inboxPrefixFor } from "@gatehouse/contracts";
import { openDatabase } from "@gatehouse/db";
import { buildApp as buildDispatch, loadConfig as loadDispatchConfig } from "@gatehouse/dispatch";
import {
  buildApp as buildIngress,
  type IngressApp,
  loadConfig as loadIngressConfig,
} from "@gatehouse/ingress";
import { createLogger, GatehouseMetrics, type Logger, Shutdown } from "@gatehouse/kit";

export interface StackOptions {
  env: Record<string, string | undefined>;
  natsUrl: string;
  /** How the shared connection authenticates (the services' own NATS_* settings are not used). */
  natsSecurity: NatsSecurity;
  logger: Logger;
  /** Also report process and Node.js series (`process_*`, `nodejs_*`): only once per process. */
  processMetrics?: boolean;
  /** Each service's log lines human-readable too (the launcher's choice for its terminal). */
  prettyLogs?: boolean;
  /** `LOG_FLUSH_MS` for the services' loggers (they share the launcher's stdout buffer). */
  logFlushMs?: number;
}

export interface Stack {
  readonly ingress: IngressApp;
  stop(): Promise<void>;
}

/**
 * The four services as modules of one process, sharing one database handle and one NATS connection,
 * still talking to each other over NATS exactly as separate processes do.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  // One registry for the four services, shown on ingress's /metrics: no service opens a port of its own.
  const env = {
    GATEHOUSE_LOCAL_MODE: "true",
    ...options.env,
    NATS_URL: options.natsUrl,
    METRICS_PORT: undefined,
  };
  const authConfig = loadAuthConfig(env);
  const aclConfig = loadAclConfig(env);
  const dispatchConfig = loadDispatchConfig(env);
  const ingressConfig = loadIngressConfig(env);
  const shutdown = new Shutdown(
    options.logger,
    Math.max(ingressConfig.shutdownTimeoutMs, authConfig.shutdownTimeoutMs),
  );
  try {
    const database = await openDatabase({
      url: authConfig.databaseUrl,
      pgliteDir: join(authConfig.dataDir, "pglite"),
    });
    shutdown.add("database", () => database.close());
    const bus = await connectBus({
      url: options.natsUrl,
      name: "gatehouse-local",
      logger: options.logger,
      security: options.natsSecurity,
      inboxPrefix: inboxPrefixFor("local"),
    });
    shutdown.add("nats", () => bus.drain());
    const metrics = new GatehouseMetrics({ defaultMetrics: options.processMetrics ?? false });
    const level = options.logger.level;
    const child = (service: string) =>
      createLogger({ level, service, pretty: options.prettyLogs ?? false, flushMs: options.logFlushMs });
    const services = [
      buildAuth(authConfig, { logger: child("auth"), database, bus, metrics }),
      buildAcl(aclConfig, { logger: child("acl"), database, bus, metrics }),
      buildDispatch(dispatchConfig, { logger: child("dispatch"), database, bus, metrics }),
    ];
    for (const service of services) {
      await service.start();
      shutdown.add("service", () => service.stop());
    }
    const ingress = buildIngress(ingressConfig, { logger: child("ingress"), bus, metrics });
    await ingress.start();
    shutdown.add("ingress", () => ingress.stop());
    return { ingress, stop: () => shutdown.run() };
  } catch (err) {
    await shutdown.run();
    throw err;
  }
}
