import type { Logger } from "@gatehouse/kit";
import type { NatsConnection } from "nats";
import { type NatsSecurity, NO_NATS_SECURITY, natsConnectionSecurity } from "./security.js";
import { connectCoalescing } from "./transport.js";

export type { NatsConnection };

export interface BusConnectOptions {
  url: string;
  /** Connection name shown by the NATS server (`nats server report connections`). */
  name: string;
  logger: Logger;
  /** Keep retrying the first connect instead of failing at once (container start order). */
  waitOnFirstConnect?: boolean;
  /** Credentials and TLS (from `natsSecurityFrom`); default: none. */
  security?: NatsSecurity;
  /**
   * Where this connection's replies arrive (`inboxPrefixFor(service)`): a per-service prefix lets
   * the server's permissions give each service its own replies and nobody else's.
   */
  inboxPrefix?: string;
}

export interface BusConnection {
  readonly nc: NatsConnection;
  /** True while the connection is up (false between a disconnect and the reconnect). */
  isConnected(): boolean;
  /** Flush pending messages, let subscriptions finish their in-flight handlers, close. */
  drain(): Promise<void>;
}

/**
 * Connect with reconnect-forever and jittered backoff; every status change is logged.
 */
export async function connectBus(options: BusConnectOptions): Promise<BusConnection> {
  const nc = await connectCoalescing({
    servers: options.url.split(",").map((s) => s.trim()),
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    reconnectJitter: 250,
    waitOnFirstConnect: options.waitOnFirstConnect ?? false,
    pingInterval: 5_000,
    maxPingOut: 2,
    // Otherwise every request allocates an Error to keep its async stack: measurable on the hot path.
    noAsyncTraces: true,
    ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
    ...natsConnectionSecurity(options.security ?? NO_NATS_SECURITY),
  });
  let connected = true;
  const log = options.logger.child({ component: "nats" });
  log.info({ server: nc.getServer() }, "nats connected");
  void (async () => {
    for await (const status of nc.status()) {
      switch (status.type) {
        case "disconnect":
          connected = false;
          log.warn({ server: status.data }, "nats disconnected");
          break;
        case "reconnect":
          connected = true;
          log.info({ server: status.data }, "nats reconnected");
          break;
        case "error":
          log.error({ err: status.data }, "nats error");
          break;
        case "reconnecting":
        case "pingTimer":
        case "staleConnection":
          log.debug({ type: status.type }, "nats status");
          break;
        default:
          log.debug({ type: status.type, data: status.data }, "nats status");
      }
    }
  })();
  void nc.closed().then((err) => {
    connected = false;
    if (err) log.error({ err }, "nats connection closed with error");
  });
  return {
    nc,
    isConnected: () => connected && !nc.isClosed(),
    drain: async () => {
      if (!nc.isClosed() && !nc.isDraining()) await nc.drain();
    },
  };
}
