export * from "./config.js";
export * from "./logger.js";
export * from "./main.js";
export * from "./memory.js";
export * from "./seal.js";
export * from "./shutdown.js";
export * from "./sync-context.js";
export * from "./telemetry.js";
