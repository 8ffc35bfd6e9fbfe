export * from "./config.js";
export * from "./logger.js";
export * from "./main.js";
export * from "./memory.js";
export * from "./metrics/index.js";
export * from "./seal.js";
export * from "./shutdown.js";
export * from "./telemetry.js";
