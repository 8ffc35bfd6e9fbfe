export { buildApp } from "./app.js";
export { type DispatchConfig, loadConfig } from "./config.js";
