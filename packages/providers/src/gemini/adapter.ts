import { type ErrorContext, malformedUpstream } from "../errors.js";
import { parseJsonEvent, readJson, readSse, Transport } from "../transport.js";
import type { ChatResult, ClientOptions, ProviderAccount, ProviderAdapter } from "../types.js";
import { type GeminiAccountConfig, geminiAuthHeaders } from "./auth.js";
import { geminiErrorMessage, geminiIsAuthError } from "./errors.js";
import {
  geminiModelPath,
  openAIChatToGeminiGenerateContent,
  openAIEmbeddingsInputToTexts,
} from "./request.js";
import { GeminiChunksToOpenAIChunks, geminiResponseToOpenAIChat, geminiUsageToUsage } from "./response.js";
import type {
  GeminiBatchEmbedContentsResponse,
  GeminiEmbedContentResponse,
  GeminiGenerateContentResponse,
} from "./wire.js";

export function createGeminiAdapter(
  account: ProviderAccount,
  config: GeminiAccountConfig,
  options: ClientOptions,
): ProviderAdapter {
  const errors: ErrorContext = {
    accountName: account.name,
    secrets: [config.credentials.apiKey],
    extractMessage: geminiErrorMessage,
    isAuthError: geminiIsAuthError,
  };
  const transport = new Transport(config.baseUrl, options, errors);
  const headers = geminiAuthHeaders(config);

  return {
    async chat(request, signal): Promise<ChatResult> {
      const modelPath = geminiModelPath(request.model);
      const body = openAIChatToGeminiGenerateContent(request);
      if (request.stream !== true) {
        const response = await transport.post(
          { path: `${modelPath}:generateContent`, headers, body },
          signal,
        );
        const json = (await readJson(response, signal, account.name)) as GeminiGenerateContentResponse;
        return {
          kind: "json",
          status: response.status,
          body: geminiResponseToOpenAIChat(json, request.model),
          usage: geminiUsageToUsage(json?.usageMetadata),
        };
      }
      const response = await transport.post(
        { path: `${modelPath}:streamGenerateContent?alt=sse`, headers, body },
        signal,
      );
      const translator = new GeminiChunksToOpenAIChunks(request.model, errors);
      const sse = readSse(response, signal, account.name);
      async function* chunks() {
        let sawAny = false;
        for await (const event of sse) {
          sawAny = true;
          yield* translator.push(parseJsonEvent<GeminiGenerateContentResponse>(event.data));
        }
        if (!sawAny) throw malformedUpstream("Gemini stream ended without any event");
        yield* translator.finish();
      }
      return { kind: "stream", chunks: chunks(), usage: () => translator.usage() };
    },

    async embeddings(request, signal) {
      const model = String(request.model);
      const modelPath = geminiModelPath(model);
      const texts = openAIEmbeddingsInputToTexts(request.input);
      const dims = typeof request.dimensions === "number" ? { outputDimensionality: request.dimensions } : {};
      const content = (text: string) => ({ parts: [{ text }] });
      let vectors: number[][];
      let status: number;
      if (texts.length === 1 && typeof request.input === "string") {
        const response = await transport.post(
          { path: `${modelPath}:embedContent`, headers, body: { content: content(texts[0] ?? ""), ...dims } },
          signal,
        );
        status = response.status;
        const json = (await readJson(response, signal, account.name)) as GeminiEmbedContentResponse;
        if (!Array.isArray(json?.embedding?.values))
          throw malformedUpstream("embedContent without embedding.values");
        vectors = [json.embedding.values];
      } else {
        const fullModel = `models${modelPath.slice("/models".length)}`;
        const body = {
          requests: texts.map((text) => ({ model: fullModel, content: content(text), ...dims })),
        };
        const response = await transport.post(
          { path: `${modelPath}:batchEmbedContents`, headers, body },
          signal,
        );
        status = response.status;
        const json = (await readJson(response, signal, account.name)) as GeminiBatchEmbedContentsResponse;
        if (!Array.isArray(json?.embeddings))
          throw malformedUpstream("batchEmbedContents without embeddings");
        vectors = json.embeddings.map((e) => e.values);
      }
      // Gemini does not report token counts for embeddings.
      return {
        kind: "json",
        status,
        body: {
          object: "list",
          data: vectors.map((embedding, index) => ({ object: "embedding", index, embedding })),
          model,
          usage: { prompt_tokens: 0, total_tokens: 0 },
        },
        usage: null,
      };
    },

    close: () => transport.close(),
  };
}
