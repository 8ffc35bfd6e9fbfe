import { parseKey } from "@gatehouse/keys";
import { env, parseEnv } from "@gatehouse/kit";
import { type BaseConfig, baseEnv, toBaseConfig } from "@gatehouse/service-host";
import { z } from "zod";

const schema = z.object({
  ...baseEnv,
  /** Email of the admin user created on first start with an empty users table. */
  GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: z.email().default("admin@localhost"),
  /**
   * The bootstrap admin's PAT, for automated deploys (a `gatehouse_pat_…` key you generated). When
   * unset a fresh key is generated and printed once to stdout.
   */
  GATEHOUSE_BOOTSTRAP_ADMIN_KEY: z
    .string()
    .refine((k) => {
      const parsed = parseKey(k);
      return parsed.ok && parsed.kind === "pat";
    }, "must be a gatehouse_pat_ key with a valid checksum")
    .optional(),
  /** Longest time ingress may cache a positive validation answer (events revoke sooner). */
  AUTH_VALIDATE_CACHE_TTL_MS: env.positiveMs(60_000),
  /** How long ingress may remember that a key is unknown. */
  AUTH_NEGATIVE_CACHE_TTL_MS: env.positiveMs(5_000),
  /** How often key last-used times are written, in one batch (never one write per request). */
  AUTH_LAST_USED_FLUSH_MS: env.positiveMs(5_000),
  /**
   * How long a revoking call waits for ingress replicas to confirm they dropped the key; set it to
   * the replicas' ACCESS_LEASE_MS (a replica that has not confirmed by then distrusts its cache).
   */
  AUTH_PROPAGATION_WAIT_MS: env.positiveMs(2_000),
});

export interface AuthConfig extends BaseConfig {
  bootstrapAdminEmail: string;
  bootstrapAdminKey: string | undefined;
  validateCacheTtlMs: number;
  negativeCacheTtlMs: number;
  lastUsedFlushMs: number;
  propagationWaitMs: number;
}

export function loadConfig(env: Record<string, string | undefined>): AuthConfig {
  const e = parseEnv(schema, env);
  return {
    ...toBaseConfig(e),
    bootstrapAdminEmail: e.GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL,
    bootstrapAdminKey: e.GATEHOUSE_BOOTSTRAP_ADMIN_KEY,
    validateCacheTtlMs: e.AUTH_VALIDATE_CACHE_TTL_MS,
    negativeCacheTtlMs: e.AUTH_NEGATIVE_CACHE_TTL_MS,
    lastUsedFlushMs: e.AUTH_LAST_USED_FLUSH_MS,
    propagationWaitMs: e.AUTH_PROPAGATION_WAIT_MS,
  };
}
