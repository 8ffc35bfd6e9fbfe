import { z } from "zod";
import { invalidRequest } from "../errors.js";
import type { OpenAIChatRequest } from "./wire.js";

/**
 * Documented request fields we forward. Anything else is dropped, so a body can never smuggle in
 * a base URL, a key or provider options, nor a field an upstream would treat as routing.
 */
const CHAT_FIELDS = [
  "messages",
  "audio",
  "frequency_penalty",
  "function_call",
  "functions",
  "logit_bias",
  "logprobs",
  "max_completion_tokens",
  "max_tokens",
  "metadata",
  "modalities",
  "n",
  "parallel_tool_calls",
  "prediction",
  "presence_penalty",
  "prompt_cache_key",
  "reasoning_effort",
  "response_format",
  "safety_identifier",
  "seed",
  "service_tier",
  "stop",
  "store",
  "stream",
  "stream_options",
  "temperature",
  "tool_choice",
  "tools",
  "top_logprobs",
  "top_p",
  "user",
  "verbosity",
  "web_search_options",
] as const;

const EMBEDDINGS_FIELDS = ["input", "encoding_format", "dimensions", "user"] as const;

const COMPLETIONS_FIELDS = [
  "prompt",
  "best_of",
  "echo",
  "frequency_penalty",
  "logit_bias",
  "logprobs",
  "max_tokens",
  "n",
  "presence_penalty",
  "seed",
  "stop",
  "stream",
  "stream_options",
  "suffix",
  "temperature",
  "top_p",
  "user",
] as const;

export function pickFields(
  body: Record<string, unknown>,
  fields: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) if (body[field] !== undefined) out[field] = body[field];
  return out;
}

const contentSchema = z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]);
const messageSchema = z.discriminatedUnion("role", [
  z.looseObject({ role: z.enum(["system", "developer", "user"]), content: contentSchema }),
  z.looseObject({
    role: z.literal("assistant"),
    content: contentSchema.nullish(),
    tool_calls: z
      .array(
        z.looseObject({
          id: z.string(),
          type: z.literal("function"),
          function: z.looseObject({ name: z.string(), arguments: z.string() }),
        }),
      )
      .optional(),
  }),
  z.looseObject({ role: z.literal("tool"), content: contentSchema, tool_call_id: z.string() }),
  z.looseObject({ role: z.literal("function"), content: z.string().nullable(), name: z.string() }),
]);
const chatShape = z.looseObject({
  messages: z.array(messageSchema).min(1),
  tools: z
    .array(
      z.looseObject({
        type: z.literal("function"),
        function: z.looseObject({
          name: z.string().min(1),
          parameters: z.record(z.string(), z.unknown()).optional(),
        }),
      }),
    )
    .optional(),
  n: z.int().min(1).max(128).optional(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
});

export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return "invalid request body";
  const path = issue.path.length > 0 ? issue.path.join(".") : "body";
  return `invalid request body: ${path}: ${issue.message}`;
}

/**
 * Validates and whitelists an OpenAI chat request. For streams, usage is always requested upstream
 * so the gateway can meter; `wantsUsage` records whether the caller asked to see it.
 */
export function sanitiseOpenAIChatRequest(
  body: Record<string, unknown>,
  model: string,
  stream: boolean,
): { request: OpenAIChatRequest; wantsUsage: boolean } {
  const parsed = chatShape.safeParse(body);
  if (!parsed.success) throw invalidRequest(describeIssue(parsed.error));
  const picked = pickFields(body, CHAT_FIELDS);
  const options = body.stream_options;
  const wantsUsage =
    typeof options === "object" &&
    options !== null &&
    (options as { include_usage?: unknown }).include_usage === true;
  const request = { ...picked, model, stream } as OpenAIChatRequest;
  if (stream)
    request.stream_options = {
      ...(typeof options === "object" && options ? options : {}),
      include_usage: true,
    };
  else delete request.stream_options;
  return { request, wantsUsage };
}

const embeddingsShape = z.looseObject({
  input: z.union([
    z.string(),
    z.array(z.string()).min(1),
    z.array(z.int()).min(1),
    z.array(z.array(z.int()).min(1)).min(1),
  ]),
  dimensions: z.int().positive().optional(),
  encoding_format: z.enum(["float", "base64"]).optional(),
});

export function sanitiseOpenAIEmbeddingsRequest(body: Record<string, unknown>, model: string) {
  const parsed = embeddingsShape.safeParse(body);
  if (!parsed.success) throw invalidRequest(describeIssue(parsed.error));
  return { ...pickFields(body, EMBEDDINGS_FIELDS), model };
}

const completionsShape = z.looseObject({
  prompt: z.union([z.string(), z.array(z.string()), z.array(z.int()), z.array(z.array(z.int()))]),
});

export function sanitiseOpenAICompletionsRequest(
  body: Record<string, unknown>,
  model: string,
  stream: boolean,
): { request: Record<string, unknown>; wantsUsage: boolean } {
  const parsed = completionsShape.safeParse(body);
  if (!parsed.success) throw invalidRequest(describeIssue(parsed.error));
  const request: Record<string, unknown> = { ...pickFields(body, COMPLETIONS_FIELDS), model, stream };
  const options = body.stream_options;
  const wantsUsage =
    typeof options === "object" &&
    options !== null &&
    (options as { include_usage?: unknown }).include_usage === true;
  if (stream) request.stream_options = { include_usage: true };
  else delete request.stream_options;
  return { request, wantsUsage };
}
