import {
  ConfigError,
  createLogger,
  type HeapTuning,
  missingFlagsMessage,
  onSignals,
  startTelemetry,
  tuneHeap,
} from "@gatehouse/kit";
import { buildApp } from "./app.js";
import { loadConfig } from "./config.js";

let config: ReturnType<typeof loadConfig>;
let heap: HeapTuning;
try {
  heap = tuneHeap(process.env);
  config = loadConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`ingress: ${err.message}\n`);
  process.exit(2);
}
const logger = createLogger({ level: config.logLevel, service: "ingress" });
const missing = missingFlagsMessage(heap);
if (missing) logger.info(missing);
const telemetry = await startTelemetry({
  serviceName: "gatehouse-ingress",
  otlpEndpoint: config.otlpEndpoint,
});
const app = buildApp(config, { logger });
onSignals(logger, async () => {
  await app.stop();
  await telemetry.shutdown();
});
try {
  await app.start();
} catch (err) {
  logger.fatal({ err }, "failed to start");
  await app.stop().catch(() => {});
  process.exit(1);
}
