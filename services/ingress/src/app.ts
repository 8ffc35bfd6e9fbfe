import { randomUUID } from "node:crypto";
import { BusClient, type BusConnection, connectBus, ReplyMux } from "@gatehouse/bus";
import { inboxPrefixFor } from "@gatehouse/contracts";
import { GatehouseMetrics, type Logger, type NatsOutcome, Shutdown } from "@gatehouse/kit";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { createAuthenticator } from "./auth/authenticate.js";
import type { IngressConfig } from "./config.js";
import type { IngressContext } from "./context.js";
import { createAccessFeed } from "./events/follower.js";
import { registerErrorHandling } from "./http/errors.js";
import { acceptEmptyJsonBodies } from "./http/json-body.js";
import { registerObservability } from "./http/observe.js";
import { registerSchemas } from "./http/openapi.js";
import { lazyChildLoggerFactory } from "./http/request-logger.js";
import { returnBudgetSlices } from "./limits/admit.js";
import { countRequests } from "./metrics/requests.js";
import { featurePlugins } from "./plugins.js";

export interface IngressDeps {
  logger: Logger;
  /** A NATS connection owned by the caller (one-process mode); not drained here. */
  bus?: BusConnection;
  /** Series shared with the caller (one-process mode: every service's); default: this app's own. */
  metrics?: GatehouseMetrics;
}

export interface IngressApp {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The URL it listens on, once started. */
  readonly url: string;
  readonly server: FastifyInstance | undefined;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function buildApp(config: IngressConfig, deps: IngressDeps): IngressApp {
  const shutdown = new Shutdown(deps.logger, config.shutdownTimeoutMs);
  let server: FastifyInstance | undefined;
  let url = "";

  return {
    get url() {
      return url;
    },
    get server() {
      return server;
    },
    async start() {
      let bus = deps.bus;
      if (!bus) {
        bus = await connectBus({
          url: config.natsUrl,
          name: "gatehouse-ingress",
          logger: deps.logger,
          waitOnFirstConnect: true,
          security: config.natsSecurity,
          inboxPrefix: inboxPrefixFor("ingress"),
        });
        shutdown.add("nats", () => bus?.drain());
      }
      const feed = createAccessFeed({
        bus,
        prefix: config.prefix,
        logger: deps.logger,
        leaseMs: config.accessLeaseMs,
        presenceIntervalMs: config.presenceIntervalMs,
      });
      await feed.start();
      shutdown.add("access-feed", () => feed.stop());
      const metrics = deps.metrics ?? new GatehouseMetrics();
      const observer = (subject: string, outcome: NatsOutcome, seconds: number) =>
        metrics.natsRequest(subject, outcome, seconds);
      const dispatch = new ReplyMux(bus.nc, "dispatch", observer);
      shutdown.add("dispatch replies", () => dispatch.close());
      const base = {
        config,
        logger: deps.logger,
        bus,
        client: new BusClient(bus.nc, config.prefix, config.busTimeoutMs, {
          adminTimeoutMs: config.adminTimeoutMs,
          isConnected: () => bus.isConnected(),
          observer,
        }),
        feed,
        dispatch,
        metrics,
      };
      const ctx: IngressContext = { ...base, authenticate: createAuthenticator(base) };
      const app = Fastify({
        loggerInstance: deps.logger as FastifyBaseLogger,
        // Per-request access lines stay off the hot path; errors are logged by the error handler.
        logController: new LogController({ disableRequestLogging: true }),
        childLoggerFactory: lazyChildLoggerFactory,
        bodyLimit: config.bodyLimitBytes,
        requestTimeout: config.requestTimeoutMs,
        trustProxy: config.trustProxy,
        return503OnClosing: true,
        requestIdHeader: false,
        genReqId: (req) => {
          const given = req.headers["x-request-id"];
          return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
        },
      });
      server = app;
      app.addHook("onRequest", (request, reply, done) => {
        reply.header("x-request-id", request.id);
        done();
      });
      app.decorateRequest("caller", undefined);
      countRequests(app, metrics);
      registerObservability(app, deps.logger);
      registerErrorHandling(app);
      acceptEmptyJsonBodies(app);
      await registerSchemas(app);
      for (const plugin of featurePlugins) await app.register(plugin, { ctx });
      // After the calls in flight ended (closers run last-registered-first), before the bus closes.
      shutdown.add("budget slices", () => returnBudgetSlices(ctx));
      // Stop accepting first; fastify.close() waits for in-flight requests (streams included).
      shutdown.add("http", () => app.close());
      url = await app.listen({ port: config.port, host: config.host });
      deps.logger.info({ url, prefix: config.prefix }, "ingress listening");
    },
    stop: () => shutdown.run(),
  };
}
