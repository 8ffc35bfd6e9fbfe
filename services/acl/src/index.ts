export { buildApp } from "./app.js";
export { type AclConfig, loadConfig } from "./config.js";
