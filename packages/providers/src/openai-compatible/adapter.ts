import { malformedUpstream } from "../errors.js";
import { createNativeResponses } from "../openai-responses/native.js";
import { readJson, readSse, type Transport } from "../transport.js";
import type {
  AdapterResult,
  ChatAdapter,
  ChatResult,
  CompletionsCapability,
  EmbeddingsCapability,
  ResponsesNativeCapability,
} from "../types.js";
import { openAISseToChunks, openAIUsageToUsage } from "./response.js";
import type { OpenAIChatChunk, OpenAIChatRequest, OpenAIChatResponse } from "./wire.js";

/** What differs between OpenAI-compatible servers: where each operation lives and how to authenticate. */
export interface OpenAICompatibleEndpoints {
  /** Path (with query) for an operation and model, relative to the base URL. */
  path(operation: "chat" | "embeddings" | "completions", model: string): string;
  headers: Record<string, string>;
  /** Named in public error messages. */
  accountName: string;
  /** Where the server keeps the Responses API; absent when it has none (Responses calls are then translated). */
  responses?: { basePath: string; model(model: string): string };
}

export type OpenAICompatibleAdapter = ChatAdapter &
  EmbeddingsCapability &
  CompletionsCapability &
  Partial<ResponsesNativeCapability>;

/** The shared base: OpenAI, Azure OpenAI, vLLM, Ollama, Groq, ... all compose this. */
export function createOpenAICompatibleAdapter(
  transport: Transport,
  endpoints: OpenAICompatibleEndpoints,
  errors: Parameters<typeof openAISseToChunks>[1],
): OpenAICompatibleAdapter {
  const { accountName } = endpoints;

  async function call<TBody, TChunk extends { usage?: unknown }>(
    operation: "chat" | "embeddings" | "completions",
    request: Record<string, unknown>,
    stream: boolean,
    signal: AbortSignal,
  ): Promise<AdapterResult<TBody, TChunk>> {
    const model = String(request.model);
    const response = await transport.post(
      { path: endpoints.path(operation, model), headers: endpoints.headers, body: request },
      signal,
    );
    if (stream) {
      const stream = openAISseToChunks<TChunk>(
        readSse(response, signal, accountName, (event) => event.data === "[DONE]"),
        errors,
      );
      return { kind: "stream", chunks: stream.chunks, usage: stream.usage };
    }
    const body = await readJson(response, signal, accountName);
    if (typeof body !== "object" || body === null) throw malformedUpstream("JSON body is not an object");
    return {
      kind: "json",
      status: response.status,
      body: body as TBody,
      usage: openAIUsageToUsage((body as { usage?: unknown }).usage),
    };
  }

  const native =
    endpoints.responses === undefined
      ? {}
      : createNativeResponses(
          transport,
          { ...endpoints.responses, headers: endpoints.headers, accountName },
          errors,
        );
  return {
    ...native,
    chat: (request: OpenAIChatRequest, signal): Promise<ChatResult> =>
      call<OpenAIChatResponse, OpenAIChatChunk>("chat", request, request.stream === true, signal),
    // OpenAI refuses unknown arguments, so embeddings bodies never carry `stream`.
    embeddings: (request, signal) => call<unknown, never>("embeddings", request, false, signal),
    completions: (request, signal) =>
      call<unknown, Record<string, unknown>>("completions", request, request.stream === true, signal),
    close: () => transport.close(),
  };
}
