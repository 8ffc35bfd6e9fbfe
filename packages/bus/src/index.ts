export * from "./client.js";
export * from "./codec.js";
export * from "./connection.js";
export * from "./frames.js";
export * from "./health.js";
export * from "./mux.js";
export * from "./service.js";
export * from "./trace.js";
