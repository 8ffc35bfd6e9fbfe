import { runMain } from "@gatehouse/kit";
import { buildApp } from "./app.js";
import { loadConfig } from "./config.js";

await runMain({ service: "auth", loadConfig, build: (config, logger) => buildApp(config, { logger }) });
