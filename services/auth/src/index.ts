export { type AuthDeps, buildApp } from "./app.js";
export { type AuthConfig, loadConfig } from "./config.js";
