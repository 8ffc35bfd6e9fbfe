export { createProviderClient } from "./client.js";
export {
  type AccountConfigShape,
  accountConfigSchema,
  isProviderType,
  PROVIDER_TYPES,
  supportsOperation,
} from "./registry.js";
export { type SseEvent, SseParser } from "./sse.js";
export { NOT_CANCELLABLE } from "./transport.js";
export type {
  ClientOptions,
  Dialect,
  InvokeInput,
  InvokeResult,
  Operation,
  ProviderAccount,
  ProviderClient,
  ProviderType,
  Usage,
} from "./types.js";
