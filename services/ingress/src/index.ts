export { buildApp, type IngressApp, type IngressDeps } from "./app.js";
export { type IngressConfig, loadConfig } from "./config.js";
