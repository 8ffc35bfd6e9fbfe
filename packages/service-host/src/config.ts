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
};

const baseSchema = z.object(baseEnv);

export interface BaseConfig extends ProcessConfig, BusConfig {
  databaseUrl: string | undefined;
  dataDir: string;
}

export function toBaseConfig(e: z.output<typeof baseSchema>): BaseConfig {
  return {
    ...toProcessConfig(e),
    ...toBusConfig(e),
    databaseUrl: e.DATABASE_URL,
    dataDir: e.GATEHOUSE_DATA_DIR,
  };
}
