export { buildApp, type IngressApp, type IngressDeps } from "./app.js";
// For the validation benchmark (bench/src/validate.bench.ts), which runs the authenticator against
// a real auth service.
export { createAuthenticator } from "./auth/authenticate.js";
export { type IngressConfig, loadConfig } from "./config.js";
export type { IngressContext } from "./context.js";
