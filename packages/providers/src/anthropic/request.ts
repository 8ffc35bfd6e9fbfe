import { invalidRequest } from "../errors.js";
import type {
  OpenAIChatRequest,
  OpenAIContentPart,
  OpenAIMessage,
  OpenAIToolChoice,
} from "../openai-compatible/wire.js";
import type {
  AnthropicContentBlock,
  AnthropicImageSource,
  AnthropicMessage,
  AnthropicMessagesRequest,
  AnthropicToolChoice,
} from "./wire.js";

/** `data:image/png;base64,...` → base64 source; http(s) → url source. */
export function openAIImageUrlToAnthropicSource(url: string): AnthropicImageSource {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (match?.[1] !== undefined && match[2] !== undefined) {
    return { type: "base64", media_type: match[1], data: match[2] };
  }
  if (/^https?:\/\//i.test(url)) return { type: "url", url };
  throw invalidRequest("image_url must be an http(s) URL or a base64 data URL");
}

function textOf(content: string | OpenAIContentPart[] | null | undefined): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  return content
    .filter((part): part is { type: "text"; text: string } => part.type === "text")
    .map((part) => part.text)
    .join("");
}

function openAIPartsToAnthropicBlocks(content: string | OpenAIContentPart[]): AnthropicContentBlock[] {
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  return content.map((part): AnthropicContentBlock => {
    if (part.type === "text") return { type: "text", text: String(part.text) };
    if (part.type === "image_url") {
      const image = part.image_url as { url?: unknown } | undefined;
      if (typeof image?.url !== "string") throw invalidRequest("image_url.url is required");
      return { type: "image", source: openAIImageUrlToAnthropicSource(image.url) };
    }
    throw invalidRequest(`content part type "${part.type}" is not supported by this provider account`);
  });
}

function parseArguments(args: string): unknown {
  if (args.trim() === "") return {};
  try {
    return JSON.parse(args);
  } catch {
    throw invalidRequest("assistant tool_calls[].function.arguments must be a JSON string");
  }
}

export function openAIToolChoiceToAnthropic(
  choice: OpenAIToolChoice | undefined,
  parallel: boolean | undefined,
): AnthropicToolChoice | undefined {
  const disable = parallel === false ? { disable_parallel_tool_use: true } : {};
  if (choice === undefined) return parallel === false ? { type: "auto", ...disable } : undefined;
  if (choice === "none") return { type: "none" };
  if (choice === "auto") return { type: "auto", ...disable };
  if (choice === "required") return { type: "any", ...disable };
  return { type: "tool", name: choice.function.name, ...disable };
}

/** Appends blocks, merging into the previous message when the role repeats (tool results follow as one user turn). */
function push(
  messages: AnthropicMessage[],
  role: "user" | "assistant",
  blocks: AnthropicContentBlock[],
): void {
  const last = messages.at(-1);
  if (last !== undefined && last.role === role && Array.isArray(last.content)) last.content.push(...blocks);
  else messages.push({ role, content: blocks });
}

/** OpenAI chat request → Anthropic Messages request. */
export function openAIChatToAnthropicMessages(
  request: OpenAIChatRequest,
  defaultMaxTokens: number,
): AnthropicMessagesRequest {
  if (request.n !== undefined && request.n !== 1)
    throw invalidRequest("n > 1 is not supported by this provider account");
  const format = request.response_format?.type;
  if (format === "json_object" || format === "json_schema") {
    throw invalidRequest("response_format json_object/json_schema is not supported by this provider account");
  }
  const system: string[] = [];
  const messages: AnthropicMessage[] = [];
  for (const message of request.messages as OpenAIMessage[]) {
    switch (message.role) {
      case "system":
      case "developer":
        system.push(textOf(message.content));
        break;
      case "user":
        push(messages, "user", openAIPartsToAnthropicBlocks(message.content));
        break;
      case "assistant": {
        const blocks: AnthropicContentBlock[] = [];
        const text = textOf(message.content);
        if (text !== "") blocks.push({ type: "text", text });
        for (const call of message.tool_calls ?? []) {
          blocks.push({
            type: "tool_use",
            id: call.id,
            name: call.function.name,
            input: parseArguments(call.function.arguments),
          });
        }
        // Anthropic rejects empty content; an empty assistant turn carries nothing anyway.
        if (blocks.length > 0) push(messages, "assistant", blocks);
        break;
      }
      case "tool":
        push(messages, "user", [
          { type: "tool_result", tool_use_id: message.tool_call_id, content: textOf(message.content) },
        ]);
        break;
      default:
        throw invalidRequest(
          `message role "${(message as { role: string }).role}" is not supported by this provider account`,
        );
    }
  }
  const out: AnthropicMessagesRequest = {
    model: request.model,
    messages,
    max_tokens: request.max_completion_tokens ?? request.max_tokens ?? defaultMaxTokens,
  };
  if (system.length > 0) out.system = system.join("\n\n");
  if (request.stop != null)
    out.stop_sequences = typeof request.stop === "string" ? [request.stop] : request.stop;
  if (request.temperature != null) out.temperature = request.temperature;
  if (request.top_p != null) out.top_p = request.top_p;
  if (request.user !== undefined) out.metadata = { user_id: request.user };
  if (request.tools !== undefined && request.tools.length > 0) {
    out.tools = request.tools.map((tool) => ({
      name: tool.function.name,
      ...(tool.function.description === undefined ? {} : { description: tool.function.description }),
      input_schema: tool.function.parameters ?? { type: "object", properties: {} },
    }));
  }
  const toolChoice = openAIToolChoiceToAnthropic(request.tool_choice, request.parallel_tool_calls);
  if (toolChoice !== undefined && out.tools !== undefined) out.tool_choice = toolChoice;
  if (request.stream === true) out.stream = true;
  return out;
}
