export { type LoadedAccount, loadAccount } from "./accounts/load.js";
export { buildApp } from "./app.js";
export { type DispatchConfig, loadConfig } from "./config.js";
export { usageDaily, usageDailyAccounts, usageRecords } from "./db/usage-schema.js";
export { type UsageFilter, type UsageScope, usageRecordsPage, usageSummary } from "./usage/query.js";
