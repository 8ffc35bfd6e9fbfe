import { microServiceName, type ServiceName } from "@gatehouse/contracts";
import { createInbox, type NatsConnection } from "nats";
import { replyInboxPrefix } from "./mux.js";

/**
 * Ping one service through the NATS services API (`$SRV.PING.<name>`). Resolves true when at least one
 * instance answers within the timeout; "no responders" resolves false at once.
 */
export async function pingService(
  nc: NatsConnection,
  prefix: string,
  service: ServiceName,
  timeoutMs = 1_000,
): Promise<boolean> {
  try {
    // On the inbox only `service` may answer (infra/nats/nats.conf), not the connection's shared one.
    await nc.request(`$SRV.PING.${microServiceName(prefix, service)}`, undefined, {
      timeout: timeoutMs,
      noMux: true,
      reply: createInbox(replyInboxPrefix(nc, service)),
    });
    return true;
  } catch {
    return false;
  }
}
