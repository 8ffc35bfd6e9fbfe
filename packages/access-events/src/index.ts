export * from "./admin.js";
export * from "./append.js";
export * from "./audit.js";
export * from "./confirm.js";
export * from "./publisher.js";
export * from "./relay.js";
export * from "./table.js";
