import { env } from "@gatehouse/kit";
import { type NatsSecurity, type NatsSecurityEnv, natsSecurityEnv, natsSecurityFrom } from "./security.js";

/**
 * Variables every process on the bus reads (the bus services and ingress). Each spreads them into
 * its own schema and reads them back with `toBusConfig`.
 */
export const busEnv = {
  /** NATS server(s), comma-separated. */
  NATS_URL: env.natsUrl(),
  /** NATS credentials and TLS: NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_CREDS, NATS_NKEY_SEED(_FILE), NATS_TLS_*. */
  ...natsSecurityEnv,
  /** First subject token of every subject, so tenants and tests can share one NATS server (docs/architecture.md). */
  GATEHOUSE_PREFIX: env.prefix(),
};

export interface BusConfig {
  natsUrl: string;
  /** Credentials and TLS for NATS, checked and read at start. */
  natsSecurity: NatsSecurity;
  prefix: string;
}

export function toBusConfig(e: NatsSecurityEnv & { NATS_URL: string; GATEHOUSE_PREFIX: string }): BusConfig {
  return { natsUrl: e.NATS_URL, natsSecurity: natsSecurityFrom(e, e.NATS_URL), prefix: e.GATEHOUSE_PREFIX };
}
