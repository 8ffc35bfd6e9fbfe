export { type LoadedAccount, loadAccount } from "./accounts/load.js";
export { buildApp } from "./app.js";
export { type DispatchConfig, loadConfig } from "./config.js";
