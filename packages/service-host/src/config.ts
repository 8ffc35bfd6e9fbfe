import { type BusConfig, busEnv, toBusConfig } from "@gatehouse/bus";
import { env, type ProcessConfig, processEnv, toProcessConfig } from "@gatehouse/kit";
import { z } from "zod";

/** Variables every bus service reads. Each service spreads these into its own schema. */
export const baseEnv = {
  ...processEnv(),
  ...busEnv,
  /** Postgres URL; when unset the service keeps its data in embedded PGlite under GATEHOUSE_DATA_DIR. */
  DATABASE_URL: env.databaseUrl(),
  /** Where local state (PGlite files, a generated local master key) lives. */
  GATEHOUSE_DATA_DIR: z.string().min(1).default(".gatehouse"),
  /** Serve `GET /metrics` (Prometheus) on this port; unset serves none (`pnpm start` shows them on ingress). */
  METRICS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  /** Address the metrics port listens on; a container sets 0.0.0.0 for its internal network. */
  METRICS_HOST: z.string().min(1).default("127.0.0.1"),
};

const baseSchema = z.object(baseEnv);

export interface BaseConfig extends ProcessConfig, BusConfig {
  databaseUrl: string | undefined;
  dataDir: string;
  /** Where this service serves its own `/metrics`, if anywhere. */
  metricsPort: number | undefined;
  metricsHost: string;
}

export function toBaseConfig(e: z.output<typeof baseSchema>): BaseConfig {
  return {
    ...toProcessConfig(e),
    ...toBusConfig(e),
    databaseUrl: e.DATABASE_URL,
    dataDir: e.GATEHOUSE_DATA_DIR,
    metricsPort: e.METRICS_PORT,
    metricsHost: e.METRICS_HOST,
  };
}
