import { z } from "zod";
import { DEFAULT_LOG_FLUSH_MS, LOG_FORMATS, type LogFormat } from "./logger.js";

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n${issues.map((i) => `  - ${i}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Parse environment variables against a schema once. Errors name the variable, never its value
 * (a value may be a secret).
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): z.output<S> {
  // Empty strings mean "unset" so `FOO= node main.js` behaves like an absent FOO.
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== "") cleaned[k] = v;
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const name = issue.path.length > 0 ? issue.path.join(".") : "(environment)";
      return `${name}: ${issue.message}`;
    }),
  );
}

const natsUrl = () =>
  z
    .string()
    .regex(/^(nats|tls|ws|wss):\/\/[^\s]+$/, "must be a nats:// URL (comma-separate several)")
    .or(z.string().regex(/^[^\s:/]+:\d+$/, "must be host:port or a nats:// URL"));

/** Shared variable shapes, so every service spells them the same way. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  positiveMs: (fallback: number) => z.coerce.number().int().min(1).max(3_600_000).default(fallback),
  /** A size in bytes within [min, max]. */
  bytes: (fallback: number, min: number, max: number) =>
    z.coerce.number().int().min(min).max(max).default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(["true", "false", "1", "0", "yes", "no"])
      .default(fallback ? "true" : "false")
      .transform((v) => v === "true" || v === "1" || v === "yes"),
  logLevel: () => z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  prefix: () =>
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be one NATS subject token: letters, digits, '_' or '-'")
      .default("gatehouse"),
  natsUrl: () => natsUrl().default("nats://127.0.0.1:4222"),
  /** A NATS URL with no default: unset stays undefined (zod applies an inner default first). */
  optionalNatsUrl: () => natsUrl().optional(),
  databaseUrl: () =>
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
      .optional(),
};

/**
 * Variables every Gatehouse process reads, the bus services, ingress and the launcher alike. Each
 * spreads them into its own schema and reads them back with `toProcessConfig`.
 */
export function processEnv(shutdownTimeoutMs = 10_000) {
  return {
    /** pino level. */
    LOG_LEVEL: env.logLevel(),
    /** `pretty` (human-readable), `json` (one object a line), or `auto`: pretty when stdout is a terminal. */
    LOG_FORMAT: z.enum(LOG_FORMATS).default("auto"),
    /** JSON log lines are written at least this often (ms), in between gathered; 0: every line at once. */
    LOG_FLUSH_MS: z.coerce.number().int().min(0).max(60_000).default(DEFAULT_LOG_FLUSH_MS),
    /** Starts the OpenTelemetry SDK and exports traces there over OTLP/HTTP when set. */
    OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
    /** How long shutdown may take before the process gives up on the remaining steps. */
    SHUTDOWN_TIMEOUT_MS: env.positiveMs(shutdownTimeoutMs),
  };
}

export interface ProcessConfig {
  logLevel: string;
  logFormat: LogFormat;
  logFlushMs: number;
  otlpEndpoint: string | undefined;
  shutdownTimeoutMs: number;
}

export function toProcessConfig(e: {
  LOG_LEVEL: string;
  LOG_FORMAT: LogFormat;
  LOG_FLUSH_MS: number;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  SHUTDOWN_TIMEOUT_MS: number;
}): ProcessConfig {
  return {
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    logFlushMs: e.LOG_FLUSH_MS,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  };
}
