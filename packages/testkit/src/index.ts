export * from "./infra.js";
export * from "./logs.js";
export * from "./nats-server.js";
export * from "./proxy.js";
export * from "./tracing.js";
export * from "./usage-record.js";
export * from "./wait.js";
