export * from "./append.js";
export * from "./confirm.js";
export * from "./publisher.js";
export * from "./relay.js";
export * from "./stream.js";
export * from "./table.js";
