import { join } from "node:path";
import {
  BusClient,
  type BusConnection,
  connectBus,
  type RawRoute,
  type Route,
  type RunningService,
  route,
  serve,
} from "@gatehouse/bus";
import {
  type Endpoint,
  GATEHOUSE_VERSION,
  type HealthResponse,
  inboxPrefixFor,
  type ServiceName,
} from "@gatehouse/contracts";
import { type Database, databaseUnavailable, openDatabase } from "@gatehouse/db";
import { GatehouseMetrics, type Logger, Shutdown, serveMetrics } from "@gatehouse/kit";
import { type ActorProof, proveActors } from "./actor.js";
import type { BaseConfig } from "./config.js";

export interface HostDeps {
  logger: Logger;
  /** A database opened by the caller (the one-process launcher shares one PGlite); not closed here. */
  database?: Database;
  /** A NATS connection owned by the caller; not drained here. */
  bus?: BusConnection;
  /** Series shared with the caller (the one-process launcher); default: this service's own. */
  metrics?: GatehouseMetrics;
}

export interface ServiceRuntime {
  readonly database: Database;
  readonly bus: BusConnection;
  readonly client: BusClient;
  readonly logger: Logger;
  readonly config: BaseConfig;
  /** Where the service records its Prometheus series. */
  readonly metrics: GatehouseMetrics;
  /** Register a closer; closers run LIFO, after the service stops taking requests. */
  onStop(name: string, close: () => Promise<void> | void): void;
}

export interface ServiceDefinition {
  service: Exclude<ServiceName, "ingress">;
  description: string;
  /** The health endpoint of this service's contract. */
  health: Endpoint;
  /** Folder of committed drizzle migrations, if the service owns tables. */
  migrationsFolder?: string;
  /** Build the service's routes (and start any background work) once the database and NATS are up. */
  setup(runtime: ServiceRuntime): Promise<Array<Route | RawRoute>> | Array<Route | RawRoute>;
  /** How the actor of every `admin.*` request is checked before its handler runs. */
  actorProof(runtime: ServiceRuntime): ActorProof;
}

export interface HostedService {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly running: RunningService | undefined;
  /** `http://host:port/metrics` once started with METRICS_PORT set, else undefined. */
  readonly metricsUrl: string | undefined;
}

/**
 * The lifecycle every bus service shares: database (migrated under an advisory lock), NATS, then the
 * micro service in its queue group. `stop()` runs LIFO: stop taking requests → finish in-flight work
 * and drain NATS → close the database.
 */
export function hostService(
  definition: ServiceDefinition,
  config: BaseConfig,
  deps: HostDeps,
): HostedService {
  const logger = deps.logger;
  const shutdown = new Shutdown(logger, config.shutdownTimeoutMs);
  let running: RunningService | undefined;
  let metricsUrl: string | undefined;
  let started = false;

  return {
    get running() {
      return running;
    },
    get metricsUrl() {
      return metricsUrl;
    },
    async start() {
      if (started) throw new Error(`${definition.service} already started`);
      started = true;
      let database = deps.database;
      if (!database) {
        database = await openDatabase({
          url: config.databaseUrl,
          pgliteDir: join(config.dataDir, `pglite-${definition.service}`),
        });
        shutdown.add("database", () => database?.close());
      }
      if (definition.migrationsFolder) {
        await database.migrate({ folder: definition.migrationsFolder, service: definition.service });
      }
      let bus = deps.bus;
      if (!bus) {
        bus = await connectBus({
          url: config.natsUrl,
          name: `gatehouse-${definition.service}`,
          logger,
          waitOnFirstConnect: true,
          security: config.natsSecurity,
          inboxPrefix: inboxPrefixFor(definition.service),
        });
        shutdown.add("nats", () => bus?.drain());
      }
      // A service in its own process with a metrics port also reports process and Node.js series.
      const metrics =
        deps.metrics ?? new GatehouseMetrics({ defaultMetrics: config.metricsPort !== undefined });
      if (config.metricsPort !== undefined) {
        const server = await serveMetrics(metrics.registry, config.metricsPort, config.metricsHost);
        shutdown.add("metrics", () => server.close());
        metricsUrl = server.url;
        logger.info({ url: server.url }, "metrics served");
      }
      const client = new BusClient(bus.nc, config.prefix, undefined, {
        observer: (subject, outcome, seconds) => metrics.natsRequest(subject, outcome, seconds),
      });
      const runtime: ServiceRuntime = {
        database,
        bus,
        client,
        logger,
        config,
        metrics,
        onStop: (name, close) => shutdown.add(name, close),
      };
      const routes = proveActors(await definition.setup(runtime), definition.actorProof(runtime), logger);
      const db = database;
      const healthRoute = route(
        definition.health,
        async (): Promise<HealthResponse> => ({
          service: definition.service,
          version: GATEHOUSE_VERSION,
          instance: running?.service.info().id ?? "starting",
          database: (await db.ping()) ? "ok" : "error",
        }),
      );
      running = await serve({
        nc: bus.nc,
        prefix: config.prefix,
        service: definition.service,
        version: GATEHOUSE_VERSION,
        description: definition.description,
        logger,
        routes: [healthRoute, ...routes],
        // A query that failed because the database is out answers 503 with Retry-After, not 500.
        mapError: databaseUnavailable,
      });
      const svc = running;
      shutdown.add("service", () => svc.stop());
      // The server has processed our subscriptions once a flush round-trips: only then is the
      // service reachable from other connections, which is what "started" must mean.
      await bus.nc.flush();
      logger.info(
        { microService: svc.name, prefix: config.prefix, database: database.kind },
        "service started",
      );
    },
    stop: () => shutdown.run(),
  };
}
