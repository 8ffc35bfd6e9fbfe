import { type ErrorContext, malformedUpstream, upstreamStreamError } from "../errors.js";
import { usageToOpenAIUsage } from "../openai-compatible/response.js";
import type {
  OpenAIChatChunk,
  OpenAIChatResponse,
  OpenAIFinishReason,
  OpenAIToolCall,
  OpenAIToolCallDelta,
} from "../openai-compatible/wire.js";
import type { Usage } from "../types.js";
import type {
  AnthropicMessageResponse,
  AnthropicStopReason,
  AnthropicStreamEvent,
  AnthropicUsage,
} from "./wire.js";

export function anthropicStopReasonToOpenAI(
  reason: AnthropicStopReason | null | undefined,
): OpenAIFinishReason {
  switch (reason) {
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    case "end_turn":
    case "stop_sequence":
    case "pause_turn":
    case null:
    case undefined:
      return "stop";
  }
}

/** Anthropic counts cached prompt tokens separately; OpenAI's prompt_tokens includes them. */
export function anthropicUsageToUsage(usage: Partial<AnthropicUsage>): Usage {
  const promptTokens =
    (usage.input_tokens ?? 0) +
    (usage.cache_creation_input_tokens ?? 0) +
    (usage.cache_read_input_tokens ?? 0);
  const completionTokens = usage.output_tokens ?? 0;
  const out: Usage = { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
  const cached = usage.cache_read_input_tokens ?? 0;
  if (cached > 0) out.cachedTokens = cached;
  return out;
}

export function anthropicMessageToOpenAIChat(message: AnthropicMessageResponse): OpenAIChatResponse {
  if (!Array.isArray(message?.content)) throw malformedUpstream("Anthropic message without content");
  let text = "";
  const toolCalls: OpenAIToolCall[] = [];
  for (const block of message.content) {
    if (block.type === "text") text += block.text;
    else if (block.type === "tool_use") {
      toolCalls.push({
        id: block.id,
        type: "function",
        function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
      });
    }
  }
  const usage = anthropicUsageToUsage(message.usage ?? {});
  return {
    id: message.id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: message.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: text === "" && toolCalls.length > 0 ? null : text,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          refusal: null,
        },
        finish_reason: anthropicStopReasonToOpenAI(message.stop_reason),
        logprobs: null,
      },
    ],
    usage: usageToOpenAIUsage(usage),
  };
}

/**
 * Stateful: Anthropic stream events in, OpenAI chat chunks out. Feed events with `push`;
 * `message_stop` produces the final usage chunk. `done` says whether the stream ended properly.
 */
export class AnthropicEventsToOpenAIChunks {
  private id = "";
  private model = "";
  private readonly created = Math.floor(Date.now() / 1000);
  private usageSoFar: Partial<AnthropicUsage> = {};
  /** Anthropic content block index → OpenAI tool_calls index. */
  private readonly toolIndexByBlock = new Map<number, number>();
  done = false;

  constructor(private readonly errors: ErrorContext) {}

  usage(): Usage | null {
    return this.id === "" ? null : anthropicUsageToUsage(this.usageSoFar);
  }

  push(event: AnthropicStreamEvent): OpenAIChatChunk[] {
    switch (event.type) {
      case "message_start":
        this.id = event.message.id;
        this.model = event.message.model;
        this.usageSoFar = { ...event.message.usage };
        return [this.chunk({ role: "assistant", content: "" }, null)];
      case "content_block_start": {
        const block = event.content_block;
        if (block.type === "tool_use") {
          const index = this.toolIndexByBlock.size;
          this.toolIndexByBlock.set(event.index, index);
          return [
            this.chunk(
              {
                tool_calls: [
                  { index, id: block.id, type: "function", function: { name: block.name, arguments: "" } },
                ],
              },
              null,
            ),
          ];
        }
        if (block.type === "text" && block.text !== "") return [this.chunk({ content: block.text }, null)];
        return [];
      }
      case "content_block_delta": {
        const delta = event.delta;
        if (delta.type === "text_delta") return [this.chunk({ content: delta.text }, null)];
        if (delta.type === "input_json_delta") {
          const index = this.toolIndexByBlock.get(event.index);
          if (index === undefined)
            throw malformedUpstream("input_json_delta for a block that is not a tool_use");
          const call: OpenAIToolCallDelta = { index, function: { arguments: delta.partial_json } };
          return [this.chunk({ tool_calls: [call] }, null)];
        }
        return [];
      }
      case "message_delta":
        this.usageSoFar = { ...this.usageSoFar, ...stripNulls(event.usage ?? {}) };
        return [this.chunk({}, anthropicStopReasonToOpenAI(event.delta.stop_reason))];
      case "message_stop": {
        this.done = true;
        const usage = anthropicUsageToUsage(this.usageSoFar);
        return [
          {
            id: this.id,
            object: "chat.completion.chunk",
            created: this.created,
            model: this.model,
            choices: [],
            usage: usageToOpenAIUsage(usage),
          },
        ];
      }
      case "error":
        throw upstreamStreamError(event.error?.type, event.error?.message, this.errors);
      case "content_block_stop":
      case "ping":
        return [];
      default:
        // Anthropic may add event types; the API reference says to ignore unknown ones.
        return [];
    }
  }

  private chunk(
    delta: OpenAIChatChunk["choices"][number]["delta"],
    finish: OpenAIFinishReason | null,
  ): OpenAIChatChunk {
    return {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    };
  }
}

function stripNulls(usage: Partial<AnthropicUsage>): Partial<AnthropicUsage> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(usage)) if (typeof value === "number") out[key] = value;
  return out as Partial<AnthropicUsage>;
}
