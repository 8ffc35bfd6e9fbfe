#!/usr/bin/env node
import { ConfigError, createLogger, onSignals, startTelemetry } from "@gatehouse/kit";
import { NO_NATS_MESSAGE, obtainNats } from "./nats.js";
import { startStack } from "./stack.js";

const env = process.env;
const logger = createLogger({ level: env.LOG_LEVEL || "info", service: "gatehouse" });
const telemetry = await startTelemetry({
  serviceName: "gatehouse",
  otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined,
});
const nats = await obtainNats({
  url: env.NATS_URL || undefined,
  dataDir: env.GATEHOUSE_DATA_DIR || ".gatehouse",
  logger,
});
if (!nats) {
  process.stderr.write(`${NO_NATS_MESSAGE}\n`);
  process.exit(1);
}
try {
  const stack = await startStack({ env, natsUrl: nats.url, logger });
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
  process.exit(1);
}
