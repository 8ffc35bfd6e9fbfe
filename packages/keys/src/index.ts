export * from "./key.js";
