export * from "./nats.js";
export * from "./stack.js";
