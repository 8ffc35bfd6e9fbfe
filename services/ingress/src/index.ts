export { buildApp, type IngressApp, type IngressDeps } from "./app.js";
// For the validation benchmark (bench/src/validate.bench.ts), which runs the authenticator against
// a real auth service.
export { createAuthenticator } from "./auth/authenticate.js";
export { type IngressConfig, loadConfig } from "./config.js";
export type { IngressContext } from "./context.js";
/** The access-event follower on its own, for tests that drive the feed without the services. */
export { type AccessFeedFollower, createAccessFeed } from "./events/follower.js";
/** The token pre-charge of a call, for the accuracy benchmark's bound (bench/src/limits-accuracy.ts). */
export { estimateMicroUsd, estimateTokens } from "./limits/admit.js";
