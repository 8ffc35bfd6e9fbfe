export * from "./infra.js";
export * from "./logs.js";
export * from "./proxy.js";
export * from "./wait.js";
