export * from "./config.js";
export * from "./host.js";
export * from "./main.js";
