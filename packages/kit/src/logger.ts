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

export interface LoggerConfig {
  level: string;
  service: string;
  /** Write here instead of stdout (tests capture logs this way). */
  destination?: pino.DestinationStream;
}

export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level,
    base: { service: config.service },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return config.destination ? pino(options, config.destination) : pino(options);
}
