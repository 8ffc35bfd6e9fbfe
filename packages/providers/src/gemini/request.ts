import { invalidRequest } from "../errors.js";
import type {
  OpenAIChatRequest,
  OpenAIContentPart,
  OpenAIMessage,
  OpenAIToolChoice,
} from "../openai-compatible/wire.js";
import type { GeminiContent, GeminiGenerateContentRequest, GeminiPart } from "./wire.js";

/** The model goes into the URL path, so only plain model ids are accepted. */
export function geminiModelPath(model: string): string {
  const id = model.startsWith("models/") ? model.slice("models/".length) : model;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id))
    throw invalidRequest(`model "${model}" is not a valid Gemini model id`);
  return `/models/${id}`;
}

const IMAGE_TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  heic: "image/heic",
};

export function openAIImageUrlToGeminiPart(url: string): GeminiPart {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (match?.[1] !== undefined && match[2] !== undefined) {
    return { inlineData: { mimeType: match[1], data: match[2] } };
  }
  if (/^https?:\/\//i.test(url)) {
    const ext = /\.([a-z0-9]+)(?:$|\?)/i.exec(new URL(url).pathname)?.[1]?.toLowerCase();
    return { fileData: { mimeType: (ext && IMAGE_TYPES[ext]) || "image/jpeg", fileUri: url } };
  }
  throw invalidRequest("image_url must be an http(s) URL or a base64 data URL");
}

function openAIContentToGeminiParts(content: string | OpenAIContentPart[] | null | undefined): GeminiPart[] {
  if (content == null) return [];
  if (typeof content === "string") return content === "" ? [] : [{ text: content }];
  return content.map((part): GeminiPart => {
    if (part.type === "text") return { text: String(part.text) };
    if (part.type === "image_url") {
      const image = part.image_url as { url?: unknown } | undefined;
      if (typeof image?.url !== "string") throw invalidRequest("image_url.url is required");
      return openAIImageUrlToGeminiPart(image.url);
    }
    throw invalidRequest(`content part type "${part.type}" is not supported by this provider account`);
  });
}

function textOf(content: string | OpenAIContentPart[] | null | undefined): string {
  return openAIContentToGeminiParts(content)
    .map((part) => ("text" in part ? part.text : ""))
    .join("");
}

/** Gemini's function schema is an OpenAPI subset: drop JSON-Schema-only keywords it rejects. */
export function jsonSchemaToGeminiSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(jsonSchemaToGeminiSchema);
  if (typeof schema !== "object" || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "$schema" || key === "additionalProperties" || key === "strict" || key === "$id") continue;
    out[key] =
      key === "properties" || key === "items" || key === "anyOf" ? jsonSchemaToGeminiSchema(value) : value;
    if (key === "properties" && typeof value === "object" && value !== null) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSchemaToGeminiSchema(v)]));
    }
  }
  return out;
}

export function openAIToolChoiceToGemini(
  choice: OpenAIToolChoice | undefined,
): GeminiGenerateContentRequest["toolConfig"] | undefined {
  if (choice === undefined) return undefined;
  if (choice === "none") return { functionCallingConfig: { mode: "NONE" } };
  if (choice === "auto") return { functionCallingConfig: { mode: "AUTO" } };
  if (choice === "required") return { functionCallingConfig: { mode: "ANY" } };
  return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [choice.function.name] } };
}

function parseArguments(args: string): Record<string, unknown> {
  if (args.trim() === "") return {};
  try {
    const parsed: unknown = JSON.parse(args);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw invalidRequest("assistant tool_calls[].function.arguments must be a JSON object string");
}

function toolResultToGeminiResponse(content: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(content);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // not JSON: wrap as text
  }
  return { result: content };
}

function push(contents: GeminiContent[], role: "user" | "model", parts: GeminiPart[]): void {
  const last = contents.at(-1);
  if (last?.role === role) last.parts.push(...parts);
  else contents.push({ role, parts });
}

/** OpenAI chat request → Gemini generateContent request (the model goes in the URL, not the body). */
export function openAIChatToGeminiGenerateContent(request: OpenAIChatRequest): GeminiGenerateContentRequest {
  const system: string[] = [];
  const contents: GeminiContent[] = [];
  const toolNames = new Map<string, string>();
  for (const message of request.messages as OpenAIMessage[]) {
    switch (message.role) {
      case "system":
      case "developer":
        system.push(textOf(message.content));
        break;
      case "user":
        push(contents, "user", openAIContentToGeminiParts(message.content));
        break;
      case "assistant": {
        const parts = openAIContentToGeminiParts(message.content);
        for (const call of message.tool_calls ?? []) {
          toolNames.set(call.id, call.function.name);
          parts.push({
            functionCall: { name: call.function.name, args: parseArguments(call.function.arguments) },
          });
        }
        push(contents, "model", parts);
        break;
      }
      case "tool": {
        const name = toolNames.get(message.tool_call_id);
        if (name === undefined)
          throw invalidRequest(`tool message refers to unknown tool_call_id "${message.tool_call_id}"`);
        push(contents, "user", [
          { functionResponse: { name, response: toolResultToGeminiResponse(textOf(message.content)) } },
        ]);
        break;
      }
      default:
        throw invalidRequest(
          `message role "${(message as { role: string }).role}" is not supported by this provider account`,
        );
    }
  }
  const out: GeminiGenerateContentRequest = { contents };
  if (system.length > 0) out.systemInstruction = { parts: [{ text: system.join("\n\n") }] };
  if (request.tools !== undefined && request.tools.length > 0) {
    out.tools = [
      {
        functionDeclarations: request.tools.map((tool) => ({
          name: tool.function.name,
          ...(tool.function.description === undefined ? {} : { description: tool.function.description }),
          ...(tool.function.parameters === undefined
            ? {}
            : { parameters: jsonSchemaToGeminiSchema(tool.function.parameters) as Record<string, unknown> }),
        })),
      },
    ];
    const toolConfig = openAIToolChoiceToGemini(request.tool_choice);
    if (toolConfig !== undefined) out.toolConfig = toolConfig;
  }
  const config: NonNullable<GeminiGenerateContentRequest["generationConfig"]> = {};
  if (request.temperature != null) config.temperature = request.temperature;
  if (request.top_p != null) config.topP = request.top_p;
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (maxTokens != null) config.maxOutputTokens = maxTokens;
  if (request.stop != null)
    config.stopSequences = typeof request.stop === "string" ? [request.stop] : request.stop;
  if (request.n != null) config.candidateCount = request.n;
  if (request.seed != null) config.seed = request.seed;
  if (request.presence_penalty != null) config.presencePenalty = request.presence_penalty;
  if (request.frequency_penalty != null) config.frequencyPenalty = request.frequency_penalty;
  const format = request.response_format;
  if (format?.type === "json_object") config.responseMimeType = "application/json";
  if (format?.type === "json_schema") {
    config.responseMimeType = "application/json";
    if (format.json_schema.schema !== undefined) config.responseJsonSchema = format.json_schema.schema;
  }
  if (Object.keys(config).length > 0) out.generationConfig = config;
  return out;
}

/** OpenAI embeddings input → Gemini texts; token-id inputs have no Gemini equivalent. */
export function openAIEmbeddingsInputToTexts(input: unknown): string[] {
  if (typeof input === "string") return [input];
  if (Array.isArray(input) && input.every((item) => typeof item === "string")) return input as string[];
  throw invalidRequest("token-id embedding inputs are not supported by this provider account; send text");
}
