import { type NatsSecurity, natsSecurityEnv, natsSecurityFrom } from "@gatehouse/bus";
import { env } from "@gatehouse/kit";
import { z } from "zod";

/** Variables every bus service reads. Each service spreads these into its own schema. */
export const baseEnv = {
  /** pino level. */
  LOG_LEVEL: env.logLevel(),
  /** NATS server(s), comma-separated. */
  NATS_URL: env.natsUrl(),
  /** NATS credentials and TLS: NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_CREDS, NATS_NKEY_SEED(_FILE), NATS_TLS_*. */
  ...natsSecurityEnv,
  /** First subject token of every subject, so tenants and tests can share one NATS server. */
  GATEHOUSE_PREFIX: env.prefix(),
  /** Postgres URL; when unset the service keeps its data in embedded PGlite under GATEHOUSE_DATA_DIR. */
  DATABASE_URL: env.databaseUrl(),
  /** Where local state (PGlite files, a generated local master key) lives. */
  GATEHOUSE_DATA_DIR: z.string().min(1).default(".gatehouse"),
  /** Starts the OpenTelemetry SDK and exports traces there over OTLP/HTTP when set. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  /** How long shutdown may take before the process gives up on the remaining steps. */
  SHUTDOWN_TIMEOUT_MS: env.positiveMs(10_000),
};

const baseSchema = z.object(baseEnv);

export interface BaseConfig {
  logLevel: string;
  natsUrl: string;
  /** Credentials and TLS for NATS, checked and read at start. */
  natsSecurity: NatsSecurity;
  prefix: string;
  databaseUrl: string | undefined;
  dataDir: string;
  otlpEndpoint: string | undefined;
  shutdownTimeoutMs: number;
}

export function toBaseConfig(e: z.output<typeof baseSchema>): BaseConfig {
  return {
    logLevel: e.LOG_LEVEL,
    natsUrl: e.NATS_URL,
    natsSecurity: natsSecurityFrom(e, e.NATS_URL),
    prefix: e.GATEHOUSE_PREFIX,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.GATEHOUSE_DATA_DIR,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  };
}
