import {
  anthropicMessagesToOpenAIChat,
  sanitiseAnthropicMessagesRequest,
} from "./anthropic-dialect/request.js";
import { openAIChatResponseToAnthropicMessage } from "./anthropic-dialect/response.js";
import { anthropicEventToFrame, OpenAIChunksToAnthropicEvents } from "./anthropic-dialect/stream.js";
import { invalidRequest, unsupportedOperation } from "./errors.js";
import {
  sanitiseOpenAIChatRequest,
  sanitiseOpenAICompletionsRequest,
  sanitiseOpenAIEmbeddingsRequest,
} from "./openai-compatible/request.js";
import { openAIChunksToFrames } from "./openai-compatible/response.js";
import { sanitiseOpenAIResponsesRequest } from "./openai-responses/request.js";
import { responsesThroughChat } from "./openai-responses/translated.js";
import { createAdapter, supportsOperation, supportsStructuredOutput } from "./registry.js";
import type {
  ClientOptions,
  InvokeInput,
  InvokeResult,
  ProviderAccount,
  ProviderAdapter,
  ProviderClient,
} from "./types.js";

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason ?? new DOMException("This operation was aborted", "AbortError");
}

function checkModel(model: string): void {
  if (typeof model !== "string" || model.length === 0 || model.length > 256) {
    throw invalidRequest("model must be a non-empty string of at most 256 characters");
  }
}

/**
 * One client per provider account: owns a connection pool, speaks the caller's dialect.
 * Errors are GatehouseErrors; an abort rejects with the signal's reason.
 */
export function createProviderClient(account: ProviderAccount, options: ClientOptions): ProviderClient {
  const adapter = createAdapter(account, options);
  return {
    async invoke(input, signal) {
      throwIfAborted(signal);
      checkModel(input.model);
      if (!supportsOperation(account.type, input.operation)) throw unsupportedOperation();
      switch (input.operation) {
        case "chat":
          return input.dialect === "openai"
            ? chatInOpenAIDialect(adapter, input, signal)
            : chatInAnthropicDialect(adapter, input, signal);
        case "embeddings":
          return embeddings(adapter, input, signal);
        case "completions":
          return completions(adapter, input, signal);
        case "responses":
          return responses(adapter, account, input, signal);
      }
    },
    responsesNative: adapter.responses !== undefined,
    async responsesAction(action, id, query, signal) {
      throwIfAborted(signal);
      if (adapter.responsesAction === undefined) throw unsupportedOperation();
      return adapter.responsesAction(action, id, query, signal);
    },
    close: () => adapter.close(),
  };
}

/** `POST /v1/responses`: straight through where the upstream speaks it, else through chat completions. */
async function responses(
  adapter: ProviderAdapter,
  account: ProviderAccount,
  input: InvokeInput,
  signal: AbortSignal,
): Promise<InvokeResult> {
  if (input.dialect !== "openai") throw unsupportedOperation();
  const request = sanitiseOpenAIResponsesRequest(input.body, input.model, input.stream);
  if (adapter.responses !== undefined) return adapter.responses(request, signal);
  const capabilities = { type: account.type, structuredOutput: supportsStructuredOutput(account.type) };
  return responsesThroughChat(adapter, request, capabilities, input.responses, signal);
}

async function chatInOpenAIDialect(
  adapter: ProviderAdapter,
  input: InvokeInput,
  signal: AbortSignal,
): Promise<InvokeResult> {
  const { request, wantsUsage } = sanitiseOpenAIChatRequest(input.body, input.model, input.stream);
  const result = await adapter.chat(request, signal);
  if (result.kind === "json") return result;
  return { kind: "stream", frames: openAIChunksToFrames(result.chunks, wantsUsage), usage: result.usage };
}

async function chatInAnthropicDialect(
  adapter: ProviderAdapter,
  input: InvokeInput,
  signal: AbortSignal,
): Promise<InvokeResult> {
  const request = sanitiseAnthropicMessagesRequest(input.body, input.model, input.stream);
  if (adapter.anthropicMessages !== undefined) return adapter.anthropicMessages(request, signal);
  const result = await adapter.chat(anthropicMessagesToOpenAIChat(request), signal);
  if (result.kind === "json") {
    return {
      kind: "json",
      status: result.status,
      body: openAIChatResponseToAnthropicMessage(result.body, input.model),
      usage: result.usage,
    };
  }
  const translator = new OpenAIChunksToAnthropicEvents(input.model);
  async function* frames(chunks: AsyncIterable<Parameters<typeof translator.push>[0]>) {
    for await (const chunk of chunks)
      for (const event of translator.push(chunk)) yield anthropicEventToFrame(event);
    for (const event of translator.finish()) yield anthropicEventToFrame(event);
  }
  return { kind: "stream", frames: frames(result.chunks), usage: result.usage };
}

async function embeddings(
  adapter: ProviderAdapter,
  input: InvokeInput,
  signal: AbortSignal,
): Promise<InvokeResult> {
  if (input.dialect !== "openai" || adapter.embeddings === undefined) throw unsupportedOperation();
  if (input.stream) throw invalidRequest("embeddings cannot be streamed");
  const request = sanitiseOpenAIEmbeddingsRequest(input.body, input.model);
  const result = await adapter.embeddings(request, signal);
  if (result.kind !== "json") throw unsupportedOperation();
  if (input.body.encoding_format === "base64") return { ...result, body: embeddingsToBase64(result.body) };
  return result;
}

/**
 * `encoding_format: "base64"` (the OpenAI SDK's default) promises each embedding as base64 of
 * little-endian float32s. Upstreams that cannot encode (Gemini, the mock, some OpenAI-compatible
 * servers) answer with float arrays, which the SDK would then mis-decode; encode those here.
 */
export function embeddingsToBase64(body: unknown): unknown {
  if (typeof body !== "object" || body === null) return body;
  const data = (body as { data?: unknown }).data;
  if (!Array.isArray(data)) return body;
  return {
    ...body,
    data: data.map((item: unknown) => {
      const embedding = (item as { embedding?: unknown } | null)?.embedding;
      if (!Array.isArray(embedding)) return item;
      const floats = Float32Array.from(embedding as number[]);
      const bytes = Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength);
      // Float32Array uses the platform's byte order; every platform Node supports is little-endian.
      return { ...(item as object), embedding: bytes.toString("base64") };
    }),
  };
}

async function completions(
  adapter: ProviderAdapter,
  input: InvokeInput,
  signal: AbortSignal,
): Promise<InvokeResult> {
  if (input.dialect !== "openai" || adapter.completions === undefined) throw unsupportedOperation();
  const { request, wantsUsage } = sanitiseOpenAICompletionsRequest(input.body, input.model, input.stream);
  const result = await adapter.completions(request, signal);
  if (result.kind === "json") return result;
  return { kind: "stream", frames: openAIChunksToFrames(result.chunks, wantsUsage), usage: result.usage };
}
