export * from "./actor.js";
export * from "./config.js";
export * from "./host.js";
