export * from "./bounded.js";
export * from "./database.js";
export * from "./paging.js";
export { PGLITE_SETTINGS, pgliteStartParams } from "./pglite.js";
export * from "./unavailable.js";
