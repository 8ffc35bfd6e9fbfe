import {
  ConfigError,
  createLogger,
  drainLogs,
  type HeapTuning,
  missingFlagsMessage,
  onSignals,
  startTelemetry,
  tuneHeap,
} from "@gatehouse/kit";
import { loadConfig } from "./config.js";
import { NO_NATS_MESSAGE, obtainNats } from "./nats.js";
import { startStack } from "./stack.js";

let config: ReturnType<typeof loadConfig>;
let heap: HeapTuning;
try {
  heap = tuneHeap(process.env);
  config = loadConfig(process.env, process.stdout.isTTY);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`gatehouse: ${err.message}\n`);
  process.exit(2);
}
const logger = createLogger({
  level: config.logLevel,
  service: "gatehouse",
  pretty: config.prettyLogs,
  flushMs: config.logFlushMs,
});
const missing = missingFlagsMessage(heap);
if (missing) logger.info(missing);
const telemetry = await startTelemetry({
  serviceName: "gatehouse",
  otlpEndpoint: config.otlpEndpoint,
  logger,
});
const nats = await obtainNats({
  url: config.natsUrl,
  dataDir: config.dataDir,
  logger,
  pathVar: config.path,
  security: config.natsSecurity,
});
if (!nats) {
  process.stderr.write(`${NO_NATS_MESSAGE}\n`);
  process.exit(1);
}
try {
  const stack = await startStack({
    env: config.env,
    natsUrl: nats.url,
    natsSecurity: nats.security,
    logger,
    processMetrics: true,
    prettyLogs: config.prettyLogs,
    logFlushMs: config.logFlushMs,
  });
  onSignals(logger, async () => {
    await stack.stop();
    await nats.stop();
    await telemetry.shutdown();
  });
  process.stdout.write(`Gatehouse is listening on ${stack.ingress.url}\n`);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`gatehouse: ${err.message}\n`);
  } else {
    logger.fatal({ err }, "failed to start");
  }
  await nats.stop();
  await drainLogs();
  process.exit(1);
}
