import { isIP } from "node:net";
import { type BusConfig, busEnv, toBusConfig } from "@gatehouse/bus";
import { env, type ProcessConfig, parseEnv, processEnv, toProcessConfig } from "@gatehouse/kit";
import { z } from "zod";

const TRUST_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);
function isTrustedProxyEntry(entry: string): boolean {
  if (TRUST_NAMES.has(entry)) return true;
  const [address = "", bits, ...rest] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

/**
 * `true`/`false` as before, or the proxies to trust as addresses, CIDRs or `loopback`, `linklocal`,
 * `uniquelocal` (comma-separated): the client is then the last X-Forwarded-For address that is not
 * one of them, which a client cannot forge by sending its own header.
 */
const trustProxy = z
  .string()
  .default("false")
  .transform((v, ctx): boolean | string[] => {
    const lower = v.trim().toLowerCase();
    if (["true", "1", "yes"].includes(lower)) return true;
    if (["false", "0", "no"].includes(lower)) return false;
    const entries = lower.split(",").map((e) => e.trim());
    if (entries.every(isTrustedProxyEntry)) return entries;
    ctx.addIssue({
      code: "custom",
      message:
        "must be true, false, or a comma-separated list of addresses, CIDRs, loopback, linklocal, uniquelocal",
    });
    return z.NEVER;
  });

const schema = z.object({
  /** Shutdown may take 15 s here: in-flight streams are finished first. */
  ...processEnv(15_000),
  ...busEnv,
  /** HTTP port; 0 picks a free one (tests). */
  PORT: env.port(8080),
  /** Interface to listen on; containers set 0.0.0.0. */
  HOST: z.string().min(1).default("127.0.0.1"),
  /** Largest accepted request body. Must stay below the NATS server's max_payload (1 MiB by default). */
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(900 * 1024),
  /** How long ingress waits for auth/acl answers. */
  BUS_TIMEOUT_MS: env.positiveMs(3_000),
  /** How long ingress waits for admin actions (a revoke waits for every replica, bounded by the lease). */
  ADMIN_TIMEOUT_MS: env.positiveMs(15_000),
  /** Longest wait for a provider call through dispatch (non-streaming), or for a stream's first frame. */
  DISPATCH_TIMEOUT_MS: env.positiveMs(600_000),
  /** Longest gap between two frames of a stream (or parts of a large answer) before ingress gives up on it. */
  STREAM_IDLE_TIMEOUT_MS: env.positiveMs(300_000),
  /**
   * A stream whose client has not taken a write for this long is ended and its upstream call
   * cancelled (memory per slow client stays bounded either way; this frees the upstream). Keep it
   * equal to dispatch's.
   */
  STREAM_WRITE_TIMEOUT_MS: env.positiveMs(60_000),
  /**
   * Largest non-streaming answer relayed; a larger one is answered with 502 `response_too_large`.
   * Answers travel in frames under NATS's max_payload, so this is not bound by it. Keep it equal to dispatch's.
   */
  MAX_RESPONSE_BYTES: env.bytes(64 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
  /** Close connections whose request headers and body have not arrived by then (slowloris guard). */
  REQUEST_TIMEOUT_MS: env.positiveMs(60_000),
  /** How long /readyz waits for each backing service's ping. */
  READY_PING_TIMEOUT_MS: env.positiveMs(500),
  /** Trust X-Forwarded-* from the load balancer in front: `true`, or only from the listed proxies. */
  TRUST_PROXY: trustProxy,
  /**
   * Lease on cached positive answers: a replica that has not heard the access-event feed (events or
   * heartbeats) for this long, or stays behind it this long, asks auth/acl on every request.
   */
  ACCESS_LEASE_MS: z.coerce.number().int().min(200).max(60_000).default(2_000),
  /** How often this replica announces itself to revoking services. */
  PRESENCE_INTERVAL_MS: z.coerce.number().int().min(50).max(10_000).default(500),
  /** Most models one `GET /v1/models` answer lists (`?limit=` asks for fewer, `?after=` goes on). */
  MODELS_LIST_MAX: z.coerce.number().int().min(1).max(10_000_000).default(100_000),
  /** Bound on the per-account catalog cache, in models (an account weighs 1 + its models). */
  CATALOG_CACHE_MAX_MODELS: z.coerce.number().int().min(1_001).max(10_000_000).default(100_000),
  /** Failed authentications (well-formed keys, webhook signatures) a client address may have in a row. */
  FAILED_AUTH_BURST: z.coerce.number().int().min(1).max(1_000_000).default(50),
  /** How many failures per minute an address's allowance regains once spent. */
  FAILED_AUTH_REFILL_PER_MINUTE: z.coerce.number().min(0.1).max(1_000_000).default(60),
  /** Client addresses (IPv6: /64 networks) the failure limiter remembers at once. */
  FAILED_AUTH_MAX_ADDRESSES: z.coerce.number().int().min(100).max(10_000_000).default(100_000),
  /** Valid keys cached (and as many remembered as once valid for the failure limiter). */
  KEY_CACHE_MAX_KEYS: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  /** Unknown keys cached, apart from the valid ones so a flood of them evicts none. */
  KEY_CACHE_MAX_UNKNOWN: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  /** A rate limit's slice, as a share of its per-minute value (docs/governance.md, "The bound"). */
  QUOTA_SLICE_FRACTION: z.coerce.number().min(0.001).max(1).default(0.05),
});

export interface IngressConfig extends ProcessConfig, BusConfig {
  port: number;
  host: string;
  bodyLimitBytes: number;
  busTimeoutMs: number;
  adminTimeoutMs: number;
  dispatchTimeoutMs: number;
  streamIdleTimeoutMs: number;
  streamWriteTimeoutMs: number;
  maxResponseBytes: number;
  requestTimeoutMs: number;
  readyPingTimeoutMs: number;
  /** Fastify's `trustProxy`: everything, nothing, or these proxies. */
  trustProxy: boolean | string[];
  accessLeaseMs: number;
  presenceIntervalMs: number;
  modelsListMax: number;
  catalogCacheMaxModels: number;
  failedAuth: { burst: number; refillPerMinute: number; maxAddresses: number };
  keyCacheMaxKeys: number;
  keyCacheMaxUnknown: number;
  quotaSliceFraction: number;
}

export function loadConfig(environment: Record<string, string | undefined>): IngressConfig {
  const e = parseEnv(schema, environment);
  return {
    ...toProcessConfig(e),
    ...toBusConfig(e),
    port: e.PORT,
    host: e.HOST,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    busTimeoutMs: e.BUS_TIMEOUT_MS,
    adminTimeoutMs: e.ADMIN_TIMEOUT_MS,
    dispatchTimeoutMs: e.DISPATCH_TIMEOUT_MS,
    streamIdleTimeoutMs: e.STREAM_IDLE_TIMEOUT_MS,
    streamWriteTimeoutMs: e.STREAM_WRITE_TIMEOUT_MS,
    maxResponseBytes: e.MAX_RESPONSE_BYTES,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    readyPingTimeoutMs: e.READY_PING_TIMEOUT_MS,
    trustProxy: e.TRUST_PROXY,
    accessLeaseMs: e.ACCESS_LEASE_MS,
    presenceIntervalMs: e.PRESENCE_INTERVAL_MS,
    modelsListMax: e.MODELS_LIST_MAX,
    catalogCacheMaxModels: e.CATALOG_CACHE_MAX_MODELS,
    failedAuth: {
      burst: e.FAILED_AUTH_BURST,
      refillPerMinute: e.FAILED_AUTH_REFILL_PER_MINUTE,
      maxAddresses: e.FAILED_AUTH_MAX_ADDRESSES,
    },
    keyCacheMaxKeys: e.KEY_CACHE_MAX_KEYS,
    keyCacheMaxUnknown: e.KEY_CACHE_MAX_UNKNOWN,
    quotaSliceFraction: e.QUOTA_SLICE_FRACTION,
  };
}
