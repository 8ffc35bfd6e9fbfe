import { randomUUID } from "node:crypto";
import type {
  AnthropicContentBlock,
  AnthropicMessageResponse,
  AnthropicStopReason,
} from "../anthropic/wire.js";
import type { OpenAIChatResponse, OpenAIFinishReason } from "../openai-compatible/wire.js";

export function openAIFinishReasonToAnthropic(
  reason: OpenAIFinishReason | null | undefined,
): AnthropicStopReason {
  switch (reason) {
    case "length":
      return "max_tokens";
    case "tool_calls":
    case "function_call":
      return "tool_use";
    case "content_filter":
      return "refusal";
    case "stop":
    case null:
    case undefined:
      return "end_turn";
  }
}

export function anthropicMessageId(): string {
  return `msg_${randomUUID().replaceAll("-", "")}`;
}

/** Tool arguments from a model may be invalid JSON; Anthropic wants an object, so keep the text inside one. */
export function openAIArgumentsToAnthropicInput(args: string): unknown {
  if (args.trim() === "") return {};
  try {
    return JSON.parse(args);
  } catch {
    return { _raw: args };
  }
}

export function openAIChatResponseToAnthropicMessage(
  response: OpenAIChatResponse,
  model: string,
): AnthropicMessageResponse {
  const choice = response.choices?.[0];
  const content: AnthropicContentBlock[] = [];
  const text = choice?.message.content ?? "";
  if (text !== "") content.push({ type: "text", text });
  for (const call of choice?.message.tool_calls ?? []) {
    content.push({
      type: "tool_use",
      id: call.id,
      name: call.function.name,
      input: openAIArgumentsToAnthropicInput(call.function.arguments),
    });
  }
  return {
    id: anthropicMessageId(),
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: openAIFinishReasonToAnthropic(choice?.finish_reason),
    stop_sequence: null,
    usage: {
      input_tokens: response.usage?.prompt_tokens ?? 0,
      output_tokens: response.usage?.completion_tokens ?? 0,
    },
  };
}
