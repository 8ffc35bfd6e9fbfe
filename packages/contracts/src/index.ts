export * from "./acl.js";
export * from "./auth.js";
export * from "./common.js";
export * from "./dispatch.js";
export * from "./errors.js";
export * from "./events.js";
export * from "./invoke.js";
export * from "./subjects.js";
