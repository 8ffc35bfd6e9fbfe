import { invalidRequest } from "../errors.js";
import type { OpenAIChatChunk, OpenAIChatResponse } from "../openai-compatible/wire.js";
import type { ChatResult, ProviderAccount, ProviderAdapter, Usage } from "../types.js";
import { mockChatAnswer, mockEmbedding, mockTokenCount, mockToolCallId } from "./answer.js";
import type { MockAccountConfig } from "./auth.js";

const CREATED = 1_700_000_000;

function openAIUsage(usage: Usage) {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.totalTokens,
  };
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason ?? new DOMException("This operation was aborted", "AbortError");
}

/** The built-in deterministic provider: no network, same input → same output. For demos and users' CI. */
export function createMockAdapter(account: ProviderAccount, config: MockAccountConfig): ProviderAdapter {
  const id = `chatcmpl-mock-${account.name}`;
  return {
    async chat(request, signal): Promise<ChatResult> {
      throwIfAborted(signal);
      const answer = mockChatAnswer(request);
      const toolCallId = answer.kind === "tool" ? mockToolCallId(answer.name, answer.arguments) : "";
      if (request.stream !== true) {
        const body: OpenAIChatResponse = {
          id,
          object: "chat.completion",
          created: CREATED,
          model: request.model,
          choices: [
            {
              index: 0,
              message:
                answer.kind === "text"
                  ? { role: "assistant", content: answer.text, refusal: null }
                  : {
                      role: "assistant",
                      content: null,
                      tool_calls: [
                        {
                          id: toolCallId,
                          type: "function",
                          function: { name: answer.name, arguments: answer.arguments },
                        },
                      ],
                      refusal: null,
                    },
              finish_reason: answer.kind === "text" ? "stop" : "tool_calls",
              logprobs: null,
            },
          ],
          usage: openAIUsage(answer.usage),
        };
        return { kind: "json", status: 200, body, usage: answer.usage };
      }
      let done = false;
      const chunk = (
        delta: OpenAIChatChunk["choices"][number]["delta"],
        finish: OpenAIChatChunk["choices"][number]["finish_reason"],
      ): OpenAIChatChunk => ({
        id,
        object: "chat.completion.chunk",
        created: CREATED,
        model: request.model,
        choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      });
      async function* chunks(): AsyncGenerator<OpenAIChatChunk> {
        yield chunk({ role: "assistant", content: "" }, null);
        if (answer.kind === "text") {
          const words = answer.text.split(/(?<=\s)/);
          for (const word of words) {
            throwIfAborted(signal);
            yield chunk({ content: word }, null);
          }
          yield chunk({}, "stop");
        } else {
          yield chunk(
            {
              tool_calls: [
                {
                  index: 0,
                  id: toolCallId,
                  type: "function",
                  function: { name: answer.name, arguments: "" },
                },
              ],
            },
            null,
          );
          const half = Math.ceil(answer.arguments.length / 2);
          for (const piece of [answer.arguments.slice(0, half), answer.arguments.slice(half)]) {
            throwIfAborted(signal);
            yield chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }, null);
          }
          yield chunk({}, "tool_calls");
        }
        done = true;
        yield {
          id,
          object: "chat.completion.chunk",
          created: CREATED,
          model: request.model,
          choices: [],
          usage: openAIUsage(answer.usage),
        };
      }
      return { kind: "stream", chunks: chunks(), usage: () => (done ? answer.usage : null) };
    },

    async embeddings(request, signal) {
      throwIfAborted(signal);
      const input = request.input;
      const texts =
        typeof input === "string"
          ? [input]
          : Array.isArray(input)
            ? input.map((item) => (typeof item === "string" ? item : JSON.stringify(item)))
            : null;
      if (texts === null) throw invalidRequest("input must be a string or an array");
      const dims =
        typeof request.dimensions === "number" ? request.dimensions : config.options.embeddingDimensions;
      const promptTokens = texts.reduce((sum, text) => sum + mockTokenCount(text), 0);
      const usage: Usage = { promptTokens, completionTokens: 0, totalTokens: promptTokens };
      return {
        kind: "json",
        status: 200,
        body: {
          object: "list",
          data: texts.map((text, index) => ({
            object: "embedding",
            index,
            embedding: mockEmbedding(text, dims),
          })),
          model: request.model,
          usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
        },
        usage,
      };
    },

    async completions(request, signal) {
      throwIfAborted(signal);
      const prompt = Array.isArray(request.prompt)
        ? request.prompt.map(String).join(" ")
        : String(request.prompt);
      const text = `mock: ${prompt}`;
      const promptTokens = mockTokenCount(prompt);
      const completionTokens = mockTokenCount(text);
      const usage: Usage = { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
      const base = {
        id: `cmpl-mock-${account.name}`,
        object: "text_completion",
        created: CREATED,
        model: request.model,
      };
      if (request.stream !== true) {
        return {
          kind: "json",
          status: 200,
          body: {
            ...base,
            choices: [{ index: 0, text, finish_reason: "stop", logprobs: null }],
            usage: openAIUsage(usage),
          },
          usage,
        };
      }
      let done = false;
      async function* chunks(): AsyncGenerator<Record<string, unknown>> {
        for (const word of text.split(/(?<=\s)/))
          yield { ...base, choices: [{ index: 0, text: word, finish_reason: null, logprobs: null }] };
        yield { ...base, choices: [{ index: 0, text: "", finish_reason: "stop", logprobs: null }] };
        done = true;
        yield { ...base, choices: [], usage: openAIUsage(usage) };
      }
      return { kind: "stream", chunks: chunks(), usage: () => (done ? usage : null) };
    },

    close: async () => {},
  };
}
