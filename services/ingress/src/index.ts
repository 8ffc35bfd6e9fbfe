export { buildApp, type IngressApp, type IngressDeps } from "./app.js";
export { type IngressConfig, loadConfig } from "./config.js";
/** The access-event follower on its own, for tests that drive the feed without the services. */
export { type AccessFeedFollower, createAccessFeed } from "./events/follower.js";
