export { type AuthDeps, buildApp } from "./app.js";
export { type AuthConfig, loadConfig } from "./config.js";
export { type TestIdentities, testIdentities } from "./testing.js";
