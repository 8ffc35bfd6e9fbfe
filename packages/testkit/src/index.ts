export * from "./infra.js";
export * from "./logs.js";
export * from "./nats-server.js";
export * from "./proxy.js";
export * from "./wait.js";
