import { z } from "zod";
import type { AnthropicContentBlock, AnthropicMessagesRequest } from "../anthropic/wire.js";
import { invalidRequest } from "../errors.js";
import { pickFields } from "../openai-compatible/request.js";
import type {
  OpenAIChatRequest,
  OpenAIContentPart,
  OpenAIMessage,
  OpenAIToolChoice,
} from "../openai-compatible/wire.js";

const MESSAGES_FIELDS = [
  "messages",
  "max_tokens",
  "system",
  "metadata",
  "stop_sequences",
  "stream",
  "temperature",
  "top_k",
  "top_p",
  "tools",
  "tool_choice",
  "thinking",
  "service_tier",
] as const;

const blockSchema = z.looseObject({ type: z.string() });
const messagesShape = z.looseObject({
  messages: z
    .array(
      z.looseObject({
        role: z.enum(["user", "assistant"]),
        content: z.union([z.string(), z.array(blockSchema)]),
      }),
    )
    .min(1),
  max_tokens: z.int().positive(),
  system: z
    .union([z.string(), z.array(z.looseObject({ type: z.literal("text"), text: z.string() }))])
    .optional(),
  stop_sequences: z.array(z.string()).optional(),
  tools: z.array(z.looseObject({ name: z.string().min(1) })).optional(),
  tool_choice: z.looseObject({ type: z.enum(["auto", "any", "tool", "none"]) }).optional(),
});

/** Validates and whitelists an Anthropic Messages request body (both the native and the translated path). */
export function sanitiseAnthropicMessagesRequest(
  body: Record<string, unknown>,
  model: string,
  stream: boolean,
): AnthropicMessagesRequest {
  const parsed = messagesShape.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalidRequest(
      `invalid request body: ${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}`,
    );
  }
  const out = { ...pickFields(body, MESSAGES_FIELDS), model } as AnthropicMessagesRequest;
  if (stream) out.stream = true;
  else delete out.stream;
  return out;
}

function anthropicImageToOpenAIPart(
  block: Extract<AnthropicContentBlock, { type: "image" }>,
): OpenAIContentPart {
  const source = block.source;
  const url = source.type === "base64" ? `data:${source.media_type};base64,${source.data}` : source.url;
  return { type: "image_url", image_url: { url } };
}

function toolResultText(content: Extract<AnthropicContentBlock, { type: "tool_result" }>["content"]): string {
  if (content === undefined) return "";
  if (typeof content === "string") return content;
  return content
    .filter((block): block is { type: "text"; text: string } => block.type === "text")
    .map((block) => block.text)
    .join("");
}

export function anthropicToolChoiceToOpenAI(
  choice: AnthropicMessagesRequest["tool_choice"],
): OpenAIToolChoice | undefined {
  switch (choice?.type) {
    case undefined:
      return undefined;
    case "auto":
      return "auto";
    case "any":
      return "required";
    case "none":
      return "none";
    case "tool":
      return { type: "function", function: { name: choice.name } };
  }
}

/** Anthropic Messages request → OpenAI chat request, for accounts whose upstream is not Anthropic. */
export function anthropicMessagesToOpenAIChat(request: AnthropicMessagesRequest): OpenAIChatRequest {
  const messages: OpenAIMessage[] = [];
  if (request.system !== undefined) {
    const text =
      typeof request.system === "string" ? request.system : request.system.map((b) => b.text).join("\n\n");
    if (text !== "") messages.push({ role: "system", content: text });
  }
  for (const message of request.messages) {
    const blocks: AnthropicContentBlock[] =
      typeof message.content === "string" ? [{ type: "text", text: message.content }] : message.content;
    if (message.role === "assistant") {
      let text = "";
      const toolCalls: Array<{
        id: string;
        type: "function";
        function: { name: string; arguments: string };
      }> = [];
      for (const block of blocks) {
        if (block.type === "text") text += block.text;
        else if (block.type === "tool_use") {
          toolCalls.push({
            id: block.id,
            type: "function",
            function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
          });
        } else if (block.type !== "thinking" && block.type !== "redacted_thinking") {
          throw invalidRequest(
            `assistant content block type "${block.type}" is not supported by this provider account`,
          );
        }
      }
      messages.push({
        role: "assistant",
        content: text === "" && toolCalls.length > 0 ? null : text,
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
      });
      continue;
    }
    // Tool results must directly follow the assistant turn in OpenAI, so they go first.
    const parts: OpenAIContentPart[] = [];
    for (const block of blocks) {
      if (block.type === "tool_result") {
        messages.push({
          role: "tool",
          tool_call_id: block.tool_use_id,
          content: toolResultText(block.content),
        });
      } else if (block.type === "text") parts.push({ type: "text", text: block.text });
      else if (block.type === "image") parts.push(anthropicImageToOpenAIPart(block));
      else
        throw invalidRequest(
          `user content block type "${block.type}" is not supported by this provider account`,
        );
    }
    if (parts.length > 0) {
      const texts = parts.flatMap((p) => (p.type === "text" && typeof p.text === "string" ? [p.text] : []));
      messages.push({ role: "user", content: texts.length === parts.length ? texts.join("") : parts });
    }
  }
  const out: OpenAIChatRequest = { model: request.model, messages, max_tokens: request.max_tokens };
  if (request.stop_sequences !== undefined) out.stop = request.stop_sequences;
  if (request.temperature !== undefined) out.temperature = request.temperature;
  if (request.top_p !== undefined) out.top_p = request.top_p;
  if (request.metadata?.user_id !== undefined) out.user = request.metadata.user_id;
  if (request.tools !== undefined && request.tools.length > 0) {
    out.tools = request.tools.map((tool) => {
      if (tool.type !== undefined && tool.type !== "custom") {
        throw invalidRequest(`server tool "${tool.type}" is not supported by this provider account`);
      }
      return {
        type: "function",
        function: {
          name: tool.name,
          ...(tool.description === undefined ? {} : { description: tool.description }),
          parameters: tool.input_schema,
        },
      };
    });
    const choice = anthropicToolChoiceToOpenAI(request.tool_choice);
    if (choice !== undefined) out.tool_choice = choice;
    if (
      request.tool_choice !== undefined &&
      "disable_parallel_tool_use" in request.tool_choice &&
      request.tool_choice.disable_parallel_tool_use
    ) {
      out.parallel_tool_calls = false;
    }
  }
  if (request.stream === true) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }
  return out;
}
