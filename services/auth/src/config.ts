import { type EgressPolicyOptions, egressAllowEnv } from "@gatehouse/egress";
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
   * the replicas' lease (a replica that has not confirmed by then distrusts its cache): the same variable.
   */
  ACCESS_LEASE_MS: env.positiveMs(2_000),
  /**
   * 32 bytes, base64: encrypts webhook signing secrets at rest (HMAC needs the secret, so it cannot
   * be hashed). Unset: webhook secrets and endpoints cannot be created; inbound webhooks answer 401.
   */
  AUTH_WEBHOOK_KEY: z
    .string()
    .refine((v) => Buffer.from(v, "base64").length === 32, "must be 32 bytes, base64")
    .optional(),
  /**
   * Longest one outbound delivery attempt may take (connect, headers, body); a worker's claim on the
   * delivery lasts this plus 30 s (at least 60 s: `webhookClaimMs`).
   */
  AUTH_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /** Hosts and CIDRs outbound webhooks may reach besides public addresses (`10.0.0.0/8,hooks.internal`). */
  GATEHOUSE_EGRESS_ALLOW: egressAllowEnv(),
  /** One-process local mode (`pnpm start`): outbound webhooks may also go to loopback. */
  GATEHOUSE_LOCAL_MODE: env.bool(false),
  /** How often the outbound delivery worker looks for due deliveries. */
  AUTH_WEBHOOK_POLL_MS: env.positiveMs(1_000),
  /** Delivery attempts before a delivery is marked failed. */
  AUTH_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(8),
  /** First retry delay; doubles per attempt (capped at an hour), with jitter. */
  AUTH_WEBHOOK_RETRY_BASE_MS: env.positiveMs(5_000),
  /** How often keys expiring soon are looked for (each is announced once). */
  AUTH_WEBHOOK_EXPIRY_SCAN_MS: env.positiveMs(300_000),
  /** "Expiring soon" means within this long. */
  AUTH_WEBHOOK_EXPIRING_WITHIN_MS: z.coerce
    .number()
    .int()
    .min(60_000)
    .max(90 * 24 * 3600 * 1000)
    .default(7 * 24 * 3600 * 1000),
});

/** The longest each database step around a delivery attempt (reading its endpoint, recording it) may wait. */
export const WEBHOOK_DB_TIMEOUT_MS = 10_000;
/**
 * What a worker's claim on a delivery adds to the attempt's own limit: the two database steps around
 * it (each `WEBHOOK_DB_TIMEOUT_MS`, plus the second `boundedTransaction` waits on a connection that
 * no longer answers) and 8 s to spare for a busy event loop.
 */
const CLAIM_MARGIN_MS = 2 * (WEBHOOK_DB_TIMEOUT_MS + 1_000) + 8_000;

/**
 * How long a worker's claim on a delivery lasts (other workers skip it meanwhile; a crashed worker's
 * expires): past the longest attempt (`timeoutMs`) and the database work around it, so an attempt
 * still under way is never taken for an abandoned one and sent again by another instance; 60 s at
 * the least, as before for short timeouts (90 s at the maximum AUTH_WEBHOOK_TIMEOUT_MS).
 */
export function webhookClaimMs(timeoutMs: number): number {
  return Math.max(60_000, timeoutMs + CLAIM_MARGIN_MS);
}

export interface WebhookConfig {
  key: Buffer | undefined;
  /** Where deliveries may connect (and which endpoint URLs the admin API accepts). */
  egress: EgressPolicyOptions;
  timeoutMs: number;
  /** `webhookClaimMs(timeoutMs)`. */
  claimMs: number;
  pollMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  expiryScanMs: number;
  expiringWithinMs: number;
}

export interface AuthConfig extends BaseConfig {
  bootstrapAdminEmail: string;
  bootstrapAdminKey: string | undefined;
  validateCacheTtlMs: number;
  negativeCacheTtlMs: number;
  lastUsedFlushMs: number;
  propagationWaitMs: number;
  webhooks: WebhookConfig;
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
    propagationWaitMs: e.ACCESS_LEASE_MS,
    webhooks: {
      key: e.AUTH_WEBHOOK_KEY === undefined ? undefined : Buffer.from(e.AUTH_WEBHOOK_KEY, "base64"),
      egress: { allow: e.GATEHOUSE_EGRESS_ALLOW, allowLoopback: e.GATEHOUSE_LOCAL_MODE },
      timeoutMs: e.AUTH_WEBHOOK_TIMEOUT_MS,
      claimMs: webhookClaimMs(e.AUTH_WEBHOOK_TIMEOUT_MS),
      pollMs: e.AUTH_WEBHOOK_POLL_MS,
      maxAttempts: e.AUTH_WEBHOOK_MAX_ATTEMPTS,
      retryBaseMs: e.AUTH_WEBHOOK_RETRY_BASE_MS,
      expiryScanMs: e.AUTH_WEBHOOK_EXPIRY_SCAN_MS,
      expiringWithinMs: e.AUTH_WEBHOOK_EXPIRING_WITHIN_MS,
    },
  };
}
