export * from "./database.js";
export { PGLITE_SETTINGS, pgliteStartParams } from "./pglite.js";
export * from "./paging.js";
