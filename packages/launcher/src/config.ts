import { type NatsSecurity, natsSecurityEnv, natsSecurityFrom } from "@gatehouse/bus";
import { env, parseEnv } from "@gatehouse/kit";
import { z } from "zod";

const schema = z.object({
  LOG_LEVEL: env.logLevel(),
  /** NATS to use; when unset, 127.0.0.1:4222 if it answers, else a nats-server from PATH. */
  NATS_URL: env.natsUrl().optional(),
  /** Credentials and TLS for NATS_URL or a server on 127.0.0.1:4222 (not for one it starts itself). */
  ...natsSecurityEnv,
  GATEHOUSE_DATA_DIR: z.string().min(1).default(".gatehouse"),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  PATH: z.string().default(""),
});

export interface LauncherConfig {
  logLevel: string;
  natsUrl: string | undefined;
  natsSecurity: NatsSecurity;
  dataDir: string;
  otlpEndpoint: string | undefined;
  path: string;
  /** The whole environment, handed to each service's own config parser. */
  env: Record<string, string | undefined>;
}

export function loadConfig(environment: Record<string, string | undefined>): LauncherConfig {
  const e = parseEnv(schema, environment);
  return {
    logLevel: e.LOG_LEVEL,
    natsUrl: e.NATS_URL,
    natsSecurity: natsSecurityFrom(e, e.NATS_URL),
    dataDir: e.GATEHOUSE_DATA_DIR,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    path: e.PATH,
    env: environment,
  };
}
