import { GatehouseMetrics, runMain } from "@gatehouse/kit";
import { buildApp } from "./app.js";
import { loadConfig } from "./config.js";

await runMain({
  service: "ingress",
  loadConfig,
  build: (config, logger) =>
    // Its own process: also the process and Node.js series.
    buildApp(config, { logger, metrics: new GatehouseMetrics({ defaultMetrics: true }) }),
});
