import { type ErrorContext, malformedUpstream, upstreamStreamError } from "../errors.js";
import type { SseEvent } from "../sse.js";
import { parseJsonEvent, readJson, readSse, Transport } from "../transport.js";
import type {
  ChatResult,
  ClientOptions,
  InvokeResult,
  ProviderAccount,
  ProviderAdapter,
  Usage,
} from "../types.js";
import { type AnthropicAccountConfig, anthropicAuthHeaders } from "./auth.js";
import { anthropicErrorMessage } from "./errors.js";
import { openAIChatToAnthropicMessages } from "./request.js";
import {
  AnthropicEventsToOpenAIChunks,
  anthropicMessageToOpenAIChat,
  anthropicUsageToUsage,
} from "./response.js";
import type { AnthropicMessageResponse, AnthropicStreamEvent, AnthropicUsage } from "./wire.js";

const isMessageStop = (event: SseEvent) => event.event === "message_stop";

export function createAnthropicAdapter(
  account: ProviderAccount,
  config: AnthropicAccountConfig,
  options: ClientOptions,
): ProviderAdapter {
  const errors: ErrorContext = {
    accountName: account.name,
    secrets: [config.credentials.apiKey],
    extractMessage: anthropicErrorMessage,
  };
  const transport = new Transport(config.baseUrl, options, errors);
  const headers = anthropicAuthHeaders(config);

  async function post(body: Record<string, unknown>, signal: AbortSignal) {
    return transport.post({ path: "/v1/messages", headers, body }, signal);
  }

  async function* decode(sse: AsyncIterable<{ data: string }>) {
    for await (const event of sse) yield parseJsonEvent<AnthropicStreamEvent>(event.data);
  }

  return {
    async chat(request, signal): Promise<ChatResult> {
      const body = openAIChatToAnthropicMessages(request, config.options.defaultMaxTokens);
      const response = await post(body as Record<string, unknown>, signal);
      if (request.stream !== true) {
        const message = (await readJson(response, signal, account.name)) as AnthropicMessageResponse;
        const converted = anthropicMessageToOpenAIChat(message);
        return {
          kind: "json",
          status: response.status,
          body: converted,
          usage: anthropicUsageToUsage(message.usage),
        };
      }
      const translator = new AnthropicEventsToOpenAIChunks(errors);
      const sse = readSse(response, signal, account.name, isMessageStop);
      async function* chunks() {
        for await (const event of decode(sse)) {
          yield* translator.push(event);
          if (translator.done) return;
        }
        throw malformedUpstream("Anthropic stream ended without message_stop");
      }
      return { kind: "stream", chunks: chunks(), usage: () => translator.usage() };
    },

    async anthropicMessages(request, signal): Promise<InvokeResult> {
      const response = await post(request, signal);
      if (request.stream !== true) {
        const message = (await readJson(response, signal, account.name)) as AnthropicMessageResponse;
        if (typeof message !== "object" || message === null || message.type !== "message") {
          throw malformedUpstream("Anthropic body is not a message");
        }
        return {
          kind: "json",
          status: response.status,
          body: message,
          usage: anthropicUsageToUsage(message.usage),
        };
      }
      let usage: Partial<AnthropicUsage> | null = null;
      const sse = readSse(response, signal, account.name, isMessageStop);
      async function* frames() {
        for await (const raw of sse) {
          const event = parseJsonEvent<AnthropicStreamEvent>(raw.data);
          if (typeof event?.type !== "string")
            throw malformedUpstream("Anthropic stream event without a type");
          if (event.type === "error")
            throw upstreamStreamError(event.error?.type, event.error?.message, errors);
          if (event.type === "message_start") usage = { ...event.message.usage };
          if (event.type === "message_delta") usage = { ...usage, ...event.usage };
          // Re-serialised from the parsed event so nothing but JSON reaches the caller.
          yield `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
          if (event.type === "message_stop") return;
        }
        throw malformedUpstream("Anthropic stream ended without message_stop");
      }
      return {
        kind: "stream",
        frames: frames(),
        usage: (): Usage | null => (usage === null ? null : anthropicUsageToUsage(usage)),
      };
    },

    close: () => transport.close(),
  };
}
