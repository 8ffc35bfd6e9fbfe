import { env, parseEnv } from "@gatehouse/kit";
import { type BaseConfig, baseEnv, toBaseConfig } from "@gatehouse/service-host";
import { z } from "zod";

const schema = z.object({
  ...baseEnv,
  /**
   * The ingress replicas' access lease: an access-removing change waits at most this long for
   * replicas to confirm; one that cannot confirm stops trusting its cache within the same time.
   */
  ACCESS_LEASE_MS: env.positiveMs(2_000),
});

export interface AclConfig extends BaseConfig {
  accessLeaseMs: number;
}

export function loadConfig(env: Record<string, string | undefined>): AclConfig {
  const e = parseEnv(schema, env);
  return { ...toBaseConfig(e), accessLeaseMs: e.ACCESS_LEASE_MS };
}
