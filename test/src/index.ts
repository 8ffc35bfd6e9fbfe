export * from "./processes.js";
export * from "./stack.js";
