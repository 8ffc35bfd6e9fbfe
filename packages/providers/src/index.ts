export { createProviderClient } from "./client.js";
export {
  RESPONSE_ID_PATTERN,
  type ResponsesReferences,
  responsesReferences,
} from "./openai-responses/request.js";
export { isTranslatedResponseId } from "./openai-responses/response.js";
export type { ResponsesInputItem } from "./openai-responses/wire.js";
export {
  type AccountConfigShape,
  accountConfigSchema,
  genAiProviderName,
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
  ResponsesAction,
  ResponsesState,
  ResponsesTrace,
  Usage,
} from "./types.js";
