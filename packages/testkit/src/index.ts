export * from "./infra.js";
export * from "./logs.js";
export * from "./wait.js";
