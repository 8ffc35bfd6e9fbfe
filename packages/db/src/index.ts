export * from "./database.js";
export * from "./paging.js";
