import { createRequire } from "node:module";
import { type Logger, type LoggerOptions, pino } from "pino";

export type { Logger };

/**
 * Paths redacted from every log line. Keys, provider credentials and auth headers never reach a log,
 * even when a caller logs a whole request or config object by mistake.
 */
export const REDACT_PATHS = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  'req.headers["x-api-key"]',
  'headers["x-api-key"]',
  "apiKey",
  "*.apiKey",
  "key",
  "*.key",
  "secret",
  "*.secret",
  "token",
  "*.token",
  "password",
  "*.password",
  "credentials",
  "*.credentials",
  "masterKey",
  "*.masterKey",
];

/**
 * What a database error would otherwise put in a log line: drizzle's query error carries the bound
 * values (a kept response's prompt, for one) in `params` and in its message; Postgres errors
 * (postgres.js, PGlite) carry row values in `detail` ("Failing row contains (...)") and `where`.
 */
const DB_VALUE_FIELDS = new Set(["params", "parameters", "detail", "where", "query", "cause"]);

function frames(stack: string | undefined): string {
  return (stack ?? "")
    .split("\n")
    .filter((line) => line.startsWith("    at "))
    .join("\n");
}

/** An error chain with every bound value a database put into it taken out; other errors as they are. */
export function withoutQueryValues(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error) || depth > 8) return err;
  const isQuery = "params" in err && "query" in err;
  const isDb = "severity" in err;
  const cause = err.cause instanceof Error ? withoutQueryValues(err.cause, depth + 1) : err.cause;
  if (!isQuery && !isDb && cause === err.cause) return err;
  const message = isQuery ? `Failed query: ${String((err as { query: unknown }).query)}` : err.message;
  const copy = new Error(message) as Error & Record<string, unknown>;
  copy.name = err.name;
  copy.stack = `${err.name}: ${message}\n${frames(err.stack)}`;
  for (const [key, value] of Object.entries(err)) {
    if (!(isQuery || isDb) || !DB_VALUE_FIELDS.has(key)) copy[key] = value;
  }
  if (cause !== undefined) copy.cause = cause;
  return copy;
}

export const LOG_FORMATS = ["auto", "json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * Whether log lines are written for a person: asked for (`pretty`), or `auto` with stdout a
 * terminal (`pnpm start` in a shell). Piped, redirected or under a supervisor it stays JSON, which
 * log collectors parse.
 */
export function prettyLogs(format: LogFormat, stdoutIsTTY: boolean | undefined): boolean {
  return format === "pretty" || (format === "auto" && stdoutIsTTY === true);
}

export interface LoggerConfig {
  level: string;
  service: string;
  /** Write here instead of stdout (tests capture logs this way). */
  destination?: pino.DestinationStream;
  /** Human-readable lines on stdout (see `prettyLogs`); ignored with a `destination`. */
  pretty?: boolean;
}

/**
 * pino-pretty, loaded only by a process that writes for a terminal. It formats in this thread
 * (no worker): a terminal is read by a person, not pushed at the throughput a collector takes.
 */
function prettyStream(): pino.DestinationStream {
  const require = createRequire(import.meta.url);
  const pretty = require("pino-pretty") as (options: Record<string, unknown>) => pino.DestinationStream;
  return pretty({
    colorize: true,
    sync: true,
    singleLine: true,
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "pid,hostname",
  });
}

export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level,
    base: { service: config.service },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    serializers: { err: (err: unknown) => pino.stdSerializers.err(withoutQueryValues(err) as Error) },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (config.destination) return pino(options, config.destination);
  if (config.pretty) return pino(options, prettyStream());
  // Asynchronous writes: lines written while one write is in flight go out together in the next,
  // instead of a blocking write per line (the access line made that one per request). pino flushes
  // what is pending when the process exits.
  return pino(options, pino.destination({ dest: 1, sync: false }));
}
