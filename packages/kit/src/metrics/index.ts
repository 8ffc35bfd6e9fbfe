export { BoundedLabel, NONE, OTHER, statusClass } from "./labels.js";
export {
  type CacheName,
  GatehouseMetrics,
  type MetricsOptions,
  type NatsOutcome,
  type RetryReason,
  type SpendStage,
  subjectWithoutPrefix,
  type UsageStage,
} from "./series.js";
export { type MetricsServer, serveMetrics } from "./server.js";
