import { ConfigError } from "./config.js";
import { createLogger, drainLogs, type LogFormat, type Logger, prettyLogs } from "./logger.js";
import { type HeapTuning, missingFlagsMessage, tuneHeap } from "./memory.js";
import { onSignals } from "./shutdown.js";
import { startTelemetry } from "./telemetry.js";

interface LoggingConfig {
  logLevel: string;
  logFormat: LogFormat;
  logFlushMs: number;
  otlpEndpoint: string | undefined;
}

export interface MainOptions<C extends LoggingConfig> {
  service: string;
  loadConfig: (env: Record<string, string | undefined>) => C;
  build: (config: C, logger: Logger) => { start(): Promise<void>; stop(): Promise<void> };
}

/**
 * The whole of a service's main.ts: tune the heap and read config (a bad variable stops the process
 * naming it), start telemetry first, start the app, stop on SIGTERM/SIGINT, telemetry last.
 */
export async function runMain<C extends LoggingConfig>(options: MainOptions<C>): Promise<void> {
  let config: C;
  let heap: HeapTuning;
  try {
    heap = tuneHeap(process.env);
    config = options.loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${options.service}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({
    level: config.logLevel,
    service: options.service,
    pretty: prettyLogs(config.logFormat, process.stdout.isTTY),
    flushMs: config.logFlushMs,
  });
  const missing = missingFlagsMessage(heap);
  if (missing) logger.info(missing);
  const telemetry = await startTelemetry({
    serviceName: `gatehouse-${options.service}`,
    otlpEndpoint: config.otlpEndpoint,
    logger,
  });
  const app = options.build(config, logger);
  onSignals(logger, async () => {
    await app.stop();
    await telemetry.shutdown();
  });
  try {
    await app.start();
  } catch (err) {
    logger.fatal({ err }, "failed to start");
    await app.stop().catch(() => {});
    await telemetry.shutdown().catch(() => {});
    await drainLogs();
    process.exit(1);
  }
}
