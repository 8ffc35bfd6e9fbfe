import { type EgressPolicyOptions, egressAllowEnv } from "@gatehouse/egress";
import { env, parseEnv } from "@gatehouse/kit";
import { type BaseConfig, baseEnv, toBaseConfig } from "@gatehouse/service-host";
import { z } from "zod";

/** 32 bytes as 64 hex digits or standard/url-safe base64; anything else is refused, never truncated. */
export function parseMasterKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, "hex");
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed.replaceAll("-", "+").replaceAll("_", "/"), "base64");
    if (bytes.length === 32) return bytes;
  }
  return undefined;
}

const schema = z
  .object({
    ...baseEnv,
    /** AES-256-GCM key that encrypts provider credentials at rest: 32 bytes, hex or base64. */
    GATEHOUSE_MASTER_KEY: z
      .string()
      .refine((v) => parseMasterKey(v) !== undefined, "must be 32 bytes as 64 hex digits or base64")
      .optional(),
    /**
     * One-process local mode (`pnpm start`): without a master key, one is generated once and kept in
     * `<GATEHOUSE_DATA_DIR>/master.key` (mode 0600), and provider calls may go to loopback (a local
     * Ollama). Never set this on a shared deployment.
     */
    GATEHOUSE_LOCAL_MODE: env.bool(false),
    /** Hosts and CIDRs provider calls may reach besides public addresses (`10.0.0.0/8,ollama.internal`). */
    GATEHOUSE_EGRESS_ALLOW: egressAllowEnv(),
    /** The ingress access lease: disabling or deleting an account waits at most this long for replicas. */
    ACCESS_LEASE_MS: env.positiveMs(2_000),
    /** Upstream TCP/TLS connect timeout. */
    UPSTREAM_CONNECT_TIMEOUT_MS: env.positiveMs(10_000),
    /** Upstream time from sending the request to its response headers. */
    UPSTREAM_FIRST_BYTE_TIMEOUT_MS: env.positiveMs(300_000),
    /** Longest silence between two chunks of an upstream body. */
    UPSTREAM_IDLE_TIMEOUT_MS: env.positiveMs(120_000),
    /** Retries before the first byte reaches the caller, for connect errors, 429 and 5xx only (0–2). */
    UPSTREAM_MAX_RETRIES: z.coerce.number().int().min(0).max(2).default(2),
    /**
     * Largest non-streaming answer relayed (upstream body and the answer sent on); a larger one ends
     * the call at once with 502 `response_too_large`. Answers travel in frames under the NATS
     * server's max_payload, so this is not bound by it. Keep it equal to ingress's.
     */
    MAX_RESPONSE_BYTES: env.bytes(64 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
    /**
     * A stream whose client has read nothing for this long is ended by ingress; dispatch waiting for
     * ingress's acknowledgement gives up (and cancels the upstream) 5 s after it. Keep it equal to ingress's.
     */
    STREAM_WRITE_TIMEOUT_MS: env.positiveMs(60_000),
    /** How long a decrypted account is reused before it is read again (updates elsewhere show up by then). */
    ACCOUNT_CACHE_TTL_MS: env.positiveMs(5_000),
    /**
     * Longest time a usage record waits in memory before its batch goes to JetStream (a batch also
     * goes out at 200 records). Longer means less background work between requests; a crash loses
     * at most this much.
     */
    USAGE_FLUSH_MS: z.coerce.number().int().min(1).max(60_000).default(1_000),
    /**
     * How long ingress waits for an admin answer (ingress's variable; keep it equal to ingress's):
     * a usage query stops before it, so its caller gets the 504 from the query, not a bus timeout.
     */
    ADMIN_TIMEOUT_MS: env.positiveMs(15_000),
    /**
     * Days Gatehouse keeps the responses it answers itself (Responses API on translated accounts), so
     * `previous_response_id` and GET/DELETE work there. 0 (default): prompts and answers are not kept.
     */
    GATEHOUSE_RESPONSE_STORE_DAYS: z.coerce.number().int().min(0).max(3_650).default(0),
  })
  .superRefine((e, issue) => {
    if (e.GATEHOUSE_MASTER_KEY === undefined && !e.GATEHOUSE_LOCAL_MODE) {
      issue.addIssue({
        code: "custom",
        path: ["GATEHOUSE_MASTER_KEY"],
        message: "is required (set GATEHOUSE_LOCAL_MODE=true only for a single-machine local gateway)",
      });
    }
  });

export interface DispatchConfig extends BaseConfig {
  /** Undefined only in local mode, where the key file under the data dir is used. */
  masterKey: Buffer | undefined;
  localMode: boolean;
  accessLeaseMs: number;
  /** Where provider calls may connect (and which base URLs the admin API accepts). */
  egress: EgressPolicyOptions;
  upstream: {
    connectTimeoutMs: number;
    firstByteTimeoutMs: number;
    idleTimeoutMs: number;
    maxRetries: number;
    maxResponseBytes: number;
  };
  /** How long a stream waits for ingress's acknowledgement before it is cancelled. */
  streamCreditTimeoutMs: number;
  accountCacheTtlMs: number;
  usageFlushMs: number;
  /** 0: Gatehouse keeps no responses of its own. */
  responseStoreDays: number;
  /** The most a usage query's request may take here: `usageQueryTimeout(ADMIN_TIMEOUT_MS)`. */
  usageQueryTimeoutMs: number;
}

/** The longest a usage query runs when ingress waits long enough. */
export const USAGE_QUERY_MAX_MS = 10_000;

/**
 * A usage request's time here: 10 s, or less when ingress's admin timeout is shorter — then that less
 * a tenth (at most 500 ms) for the trip over the bus and back.
 */
export function usageQueryTimeout(adminTimeoutMs: number): number {
  return Math.min(USAGE_QUERY_MAX_MS, adminTimeoutMs - Math.min(500, Math.floor(adminTimeoutMs / 10)));
}

export function loadConfig(environment: Record<string, string | undefined>): DispatchConfig {
  const e = parseEnv(schema, environment);
  return {
    ...toBaseConfig(e),
    masterKey: e.GATEHOUSE_MASTER_KEY === undefined ? undefined : parseMasterKey(e.GATEHOUSE_MASTER_KEY),
    localMode: e.GATEHOUSE_LOCAL_MODE,
    accessLeaseMs: e.ACCESS_LEASE_MS,
    egress: { allow: e.GATEHOUSE_EGRESS_ALLOW, allowLoopback: e.GATEHOUSE_LOCAL_MODE },
    upstream: {
      connectTimeoutMs: e.UPSTREAM_CONNECT_TIMEOUT_MS,
      firstByteTimeoutMs: e.UPSTREAM_FIRST_BYTE_TIMEOUT_MS,
      idleTimeoutMs: e.UPSTREAM_IDLE_TIMEOUT_MS,
      maxRetries: e.UPSTREAM_MAX_RETRIES,
      maxResponseBytes: e.MAX_RESPONSE_BYTES,
    },
    streamCreditTimeoutMs: e.STREAM_WRITE_TIMEOUT_MS + 5_000,
    accountCacheTtlMs: e.ACCOUNT_CACHE_TTL_MS,
    usageFlushMs: e.USAGE_FLUSH_MS,
    responseStoreDays: e.GATEHOUSE_RESPONSE_STORE_DAYS,
    usageQueryTimeoutMs: usageQueryTimeout(e.ADMIN_TIMEOUT_MS),
  };
}
