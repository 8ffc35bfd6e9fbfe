import { microServiceName, type ServiceName } from "@gatehouse/contracts";
import type { NatsConnection } from "nats";

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
    await nc.request(`$SRV.PING.${microServiceName(prefix, service)}`, undefined, { timeout: timeoutMs });
    return true;
  } catch {
    return false;
  }
}
