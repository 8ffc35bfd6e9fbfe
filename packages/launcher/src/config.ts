import type { NatsSecurity } from "@gatehouse/bus";
import { env, parseEnv, prettyLogs } from "@gatehouse/kit";
import { baseEnv, toBaseConfig } from "@gatehouse/service-host";
import { z } from "zod";

const schema = z.object({
  /** The launcher reads what every service reads (it hands the same environment to each). */
  ...baseEnv,
  /** NATS to use; when unset, 127.0.0.1:4222 if it answers, else a nats-server from PATH. */
  NATS_URL: env.optionalNatsUrl(),
  PATH: z.string().default(""),
});

export interface LauncherConfig {
  logLevel: string;
  /** Human-readable log lines: asked for, or stdout a terminal (`prettyLogs`). */
  prettyLogs: boolean;
  /** `LOG_FLUSH_MS`: how long JSON lines may wait to be written together. */
  logFlushMs: number;
  natsUrl: string | undefined;
  /** Credentials and TLS for NATS_URL or a server on 127.0.0.1:4222 (not for one it starts itself). */
  natsSecurity: NatsSecurity;
  dataDir: string;
  otlpEndpoint: string | undefined;
  path: string;
  /** The whole environment, handed to each service's own config parser. */
  env: Record<string, string | undefined>;
}

export function loadConfig(
  environment: Record<string, string | undefined>,
  stdoutIsTTY = false,
): LauncherConfig {
  const e = parseEnv(schema, environment);
  const base = toBaseConfig({ ...e, NATS_URL: e.NATS_URL ?? "" });
  return {
    logLevel: base.logLevel,
    prettyLogs: prettyLogs(base.logFormat, stdoutIsTTY),
    logFlushMs: base.logFlushMs,
    natsUrl: e.NATS_URL,
    natsSecurity: base.natsSecurity,
    dataDir: base.dataDir,
    otlpEndpoint: base.otlpEndpoint,
    path: e.PATH,
    env: environment,
  };
}
