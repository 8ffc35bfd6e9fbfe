import type { BusClient, BusConnection, ReplyMux } from "@gatehouse/bus";
import type { GatehouseMetrics, Logger } from "@gatehouse/kit";
import type { preHandlerAsyncHookHandler } from "fastify";
import type { IngressConfig } from "./config.js";
import type { AccessFeed } from "./events/feed.js";

/** What every ingress feature plugin gets. */
export interface IngressContext {
  readonly config: IngressConfig;
  readonly logger: Logger;
  readonly bus: BusConnection;
  readonly client: BusClient;
  /** Requests to `dispatch.invoke` and their reply frames, on one shared reply subscription. */
  readonly dispatch: ReplyMux;
  /** The access-event feed caches follow. */
  readonly feed: AccessFeed;
  /** Prometheus series (shared with the other services under `pnpm start`). */
  readonly metrics: GatehouseMetrics;
  /**
   * Pre-handler that authenticates the request's API key and sets `request.caller`
   * (see auth/caller.ts); refuses with 401/503 in the route's dialect.
   */
  readonly authenticate: preHandlerAsyncHookHandler;
}
