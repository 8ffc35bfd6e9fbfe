export { startAnthropicUpstream } from "./anthropic.js";
export { startAzureUpstream } from "./azure.js";
export type { AnswerPlan, Behaviour, RecordedRequest } from "./behaviour.js";
export { DEFAULT_TEXT } from "./behaviour.js";
export { startGeminiUpstream } from "./gemini.js";
export { startOpenAIUpstream } from "./openai.js";
export type { MockUpstream, StartOptions } from "./server.js";
