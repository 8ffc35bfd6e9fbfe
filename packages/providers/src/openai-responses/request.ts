import { z } from "zod";
import { invalidRequest } from "../errors.js";
import { describeIssue, pickFields } from "../openai-compatible/request.js";
import type {
  OpenAIChatRequest,
  OpenAIContentPart,
  OpenAIMessage,
  OpenAITool,
  OpenAIToolChoice,
} from "../openai-compatible/wire.js";
import type { ProviderType } from "../types.js";
import type {
  ResponsesInputContent,
  ResponsesInputItem,
  ResponsesRequest,
  ResponsesTool,
  ResponsesToolChoice,
} from "./wire.js";

/**
 * Documented Responses request fields that are forwarded to a provider that speaks the API itself.
 * Anything else is dropped, so a body can never carry a base URL, a key or provider options.
 * `conversation` is refused outright (see `sanitiseOpenAIResponsesRequest`).
 */
const RESPONSES_FIELDS = [
  "input",
  "instructions",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "text",
  "max_output_tokens",
  "max_tool_calls",
  "temperature",
  "top_p",
  "top_logprobs",
  "reasoning",
  "previous_response_id",
  "store",
  "stream",
  "stream_options",
  "metadata",
  "user",
  "safety_identifier",
  "prompt",
  "prompt_cache_key",
  "prompt_cache_retention",
  "service_tier",
  "truncation",
  "include",
  "background",
] as const;

/** Response and item ids end up in URL paths and store keys: refuse anything else early. */
export const RESPONSE_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

const contentSchema = z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]);
const itemSchema = z.union([
  z.looseObject({
    type: z.literal("message").optional(),
    role: z.enum(["user", "system", "developer", "assistant"]),
    content: contentSchema,
  }),
  z.looseObject({
    type: z.literal("function_call"),
    call_id: z.string().min(1),
    name: z.string().min(1),
    arguments: z.string(),
  }),
  z.looseObject({
    type: z.literal("function_call_output"),
    call_id: z.string().min(1),
    output: contentSchema,
  }),
  z.looseObject({ type: z.literal("item_reference"), id: z.string().regex(RESPONSE_ID_PATTERN) }),
  z.looseObject({
    type: z
      .string()
      .refine(
        (t) => !["message", "function_call", "function_call_output", "item_reference"].includes(t),
        "is malformed",
      ),
  }),
]);

const responsesShape = z.looseObject({
  input: z.union([z.string(), z.array(itemSchema).max(10_000)]).optional(),
  instructions: z.string().nullish(),
  tools: z
    .array(
      z.union([
        z.looseObject({ type: z.literal("function"), name: z.string().min(1) }),
        z.looseObject({ type: z.string().refine((t) => t !== "function", "function tools need a name") }),
      ]),
    )
    .max(512)
    .optional(),
  tool_choice: z
    .union([z.enum(["none", "auto", "required"]), z.looseObject({ type: z.string() })])
    .optional(),
  text: z
    .looseObject({
      format: z
        .discriminatedUnion("type", [
          z.looseObject({ type: z.literal("text") }),
          z.looseObject({ type: z.literal("json_object") }),
          z.looseObject({
            type: z.literal("json_schema"),
            name: z.string().min(1),
            schema: z.record(z.string(), z.unknown()),
          }),
        ])
        .optional(),
    })
    .optional(),
  max_output_tokens: z.int().positive().nullish(),
  previous_response_id: z.string().regex(RESPONSE_ID_PATTERN, "is not a response id").nullish(),
  store: z.boolean().nullish(),
  background: z.boolean().nullish(),
  reasoning: z.looseObject({ effort: z.string().nullish() }).nullish(),
});

/** Validates and whitelists a Responses request; the model and `stream` come from Gatehouse, never the body. */
export function sanitiseOpenAIResponsesRequest(
  body: Record<string, unknown>,
  model: string,
  stream: boolean,
): ResponsesRequest {
  const parsed = responsesShape.safeParse(body);
  if (!parsed.success) throw invalidRequest(describeIssue(parsed.error));
  // A conversation object is stored by the provider with no owner Gatehouse could check.
  if (body.conversation !== undefined && body.conversation !== null) {
    throw invalidRequest("conversation is not supported through Gatehouse; use previous_response_id");
  }
  const out = { ...pickFields(body, RESPONSES_FIELDS), model } as ResponsesRequest;
  if (stream) out.stream = true;
  // Only when present: a delete turns the object into a slow dictionary for every later read.
  else if (out.stream !== undefined) delete out.stream;
  return out;
}

/** What a Responses request points at in stored state: both must belong to the caller. */
export interface ResponsesReferences {
  previousResponseId: string | undefined;
  /** `item_reference` ids, and reasoning items the provider would look up by id. */
  itemIds: string[];
  /** Whether the caller wants the response kept (the API's default is yes). */
  store: boolean;
}

export function responsesReferences(body: Record<string, unknown>): ResponsesReferences {
  const previous = body.previous_response_id;
  const itemIds: string[] = [];
  if (Array.isArray(body.input)) {
    for (const item of body.input as Array<Record<string, unknown> | null>) {
      if (typeof item?.id !== "string") continue;
      const lookedUp =
        item.type === "item_reference" || (item.type === "reasoning" && item.encrypted_content == null);
      if (lookedUp) itemIds.push(item.id);
    }
  }
  return {
    previousResponseId: typeof previous === "string" && previous !== "" ? previous : undefined,
    itemIds,
    store: body.store !== false,
  };
}

/** What translation needs besides the request: stored state the caller resolved, and what the account can do. */
export interface ResponsesTranslation {
  accountType: ProviderType;
  structuredOutput: boolean;
  /** The conversation so far (from `previous_response_id`), oldest first. */
  history: readonly ResponsesInputItem[];
  /** `item_reference` targets by id. */
  items: ReadonlyMap<string, ResponsesInputItem>;
}

function unsupported(field: string, what: string, accountType: ProviderType): never {
  throw invalidRequest(`${field}: ${what} is not supported on provider accounts of type ${accountType}`);
}

function textOfContent(content: string | ResponsesInputContent[]): string {
  if (typeof content === "string") return content;
  return content
    .map((part) =>
      part.type === "input_text" || part.type === "output_text"
        ? String(part.text ?? "")
        : part.type === "refusal"
          ? String(part.refusal ?? "")
          : "",
    )
    .join("");
}

function inputContentToOpenAIParts(
  content: ResponsesInputContent[],
  field: string,
  accountType: ProviderType,
): OpenAIContentPart[] {
  return content.map((part, i): OpenAIContentPart => {
    if (part.type === "input_text" || part.type === "output_text") {
      return { type: "text", text: String(part.text ?? "") };
    }
    if (part.type === "input_image") {
      const url = part.image_url;
      if (typeof url !== "string" || url === "") {
        unsupported(`${field}[${i}]`, "an input_image without image_url (file_id)", accountType);
      }
      const detail = part.detail;
      return {
        type: "image_url",
        image_url: {
          url,
          ...(detail === "low" || detail === "high" || detail === "auto" ? { detail } : {}),
        },
      };
    }
    return unsupported(`${field}[${i}]`, `content type "${part.type}"`, accountType);
  });
}

/** Items → chat messages; consecutive assistant output (text, tool calls) becomes one assistant turn. */
function itemsToOpenAIMessages(
  items: readonly ResponsesInputItem[],
  field: (i: number) => string,
  ctx: ResponsesTranslation,
  messages: OpenAIMessage[],
): void {
  const assistant = (): Extract<OpenAIMessage, { role: "assistant" }> => {
    const last = messages.at(-1);
    if (last?.role === "assistant") return last;
    const turn: Extract<OpenAIMessage, { role: "assistant" }> = { role: "assistant", content: null };
    messages.push(turn);
    return turn;
  };
  items.forEach((raw, i) => {
    let item = raw;
    if (item.type === "item_reference") {
      const found = ctx.items.get(String(item.id));
      if (found === undefined) throw invalidRequest(`${field(i)}: item ${String(item.id)} was not found`);
      item = found;
    }
    const type = item.type ?? "message";
    switch (type) {
      case "message": {
        const message = item as Extract<ResponsesInputItem, { role: string }>;
        if (message.role === "assistant") {
          const turn = assistant();
          const text = textOfContent(message.content);
          turn.content = (typeof turn.content === "string" ? turn.content : "") + text;
          return;
        }
        const content =
          typeof message.content === "string"
            ? message.content
            : inputContentToOpenAIParts(message.content, `${field(i)}.content`, ctx.accountType);
        messages.push({ role: message.role, content } as OpenAIMessage);
        return;
      }
      case "function_call": {
        const call = item as Extract<ResponsesInputItem, { type: "function_call" }>;
        const turn = assistant();
        turn.tool_calls = [
          ...(turn.tool_calls ?? []),
          { id: call.call_id, type: "function", function: { name: call.name, arguments: call.arguments } },
        ];
        return;
      }
      case "function_call_output": {
        const output = item as Extract<ResponsesInputItem, { type: "function_call_output" }>;
        messages.push({ role: "tool", tool_call_id: output.call_id, content: textOfContent(output.output) });
        return;
      }
      case "reasoning":
        // Provider-specific reasoning state has no place in a chat request (as thinking blocks in /v1/messages).
        return;
      default:
        unsupported(field(i), `input item type "${type}"`, ctx.accountType);
    }
  });
}

function responsesToolToOpenAI(tool: ResponsesTool, i: number, accountType: ProviderType): OpenAITool {
  if (tool.type !== "function") unsupported(`tools[${i}]`, `built-in tool "${tool.type}"`, accountType);
  const fn = tool as Extract<ResponsesTool, { type: "function" }>;
  return {
    type: "function",
    function: {
      name: fn.name,
      ...(fn.description == null ? {} : { description: fn.description }),
      ...(fn.parameters == null ? {} : { parameters: fn.parameters }),
      ...(fn.strict == null ? {} : { strict: fn.strict }),
    },
  };
}

export function responsesToolChoiceToOpenAI(
  choice: ResponsesToolChoice | undefined,
  accountType: ProviderType,
): OpenAIToolChoice | undefined {
  if (choice === undefined || typeof choice === "string") return choice;
  if (choice.type === "function" && typeof choice.name === "string") {
    return { type: "function", function: { name: choice.name } };
  }
  return unsupported("tool_choice", `tool_choice type "${choice.type}"`, accountType);
}

/** The Responses fields a chat request cannot honour: refused, never silently dropped. */
function refuseUntranslatable(request: ResponsesRequest, accountType: ProviderType): void {
  if (request.background === true) unsupported("background", "background mode", accountType);
  if (request.prompt != null) unsupported("prompt", "a stored prompt template", accountType);
}

/**
 * Responses request → OpenAI chat request, for accounts whose upstream has no Responses endpoint.
 * Built-in tools, file inputs and other things chat cannot express are a 400 naming the field.
 */
export function openAIResponsesToOpenAIChat(
  request: ResponsesRequest,
  ctx: ResponsesTranslation,
): OpenAIChatRequest {
  refuseUntranslatable(request, ctx.accountType);
  const messages: OpenAIMessage[] = [];
  if (typeof request.instructions === "string" && request.instructions !== "") {
    messages.push({ role: "system", content: request.instructions });
  }
  itemsToOpenAIMessages(ctx.history, (i) => `previous_response_id (item ${i})`, ctx, messages);
  const input = request.input;
  if (typeof input === "string") messages.push({ role: "user", content: input });
  else if (input !== undefined) itemsToOpenAIMessages(input, (i) => `input[${i}]`, ctx, messages);
  if (!messages.some((m) => m.role !== "system"))
    throw invalidRequest("input: at least one item is required");

  const out: OpenAIChatRequest = { model: request.model, messages };
  if (request.max_output_tokens != null) out.max_tokens = request.max_output_tokens;
  if (request.temperature != null) out.temperature = request.temperature;
  if (request.top_p != null) out.top_p = request.top_p;
  if (typeof request.user === "string") out.user = request.user;
  if (request.tools !== undefined && request.tools.length > 0) {
    out.tools = request.tools.map((tool, i) => responsesToolToOpenAI(tool, i, ctx.accountType));
    const choice = responsesToolChoiceToOpenAI(request.tool_choice, ctx.accountType);
    if (choice !== undefined) out.tool_choice = choice;
    if (request.parallel_tool_calls != null) out.parallel_tool_calls = request.parallel_tool_calls;
  } else if (typeof request.tool_choice === "object") {
    responsesToolChoiceToOpenAI(request.tool_choice, ctx.accountType);
  }
  const format = request.text?.format;
  if (format !== undefined && format.type !== "text") {
    if (!ctx.structuredOutput) unsupported("text.format", `${format.type} output`, ctx.accountType);
    if (format.type === "json_object") out.response_format = { type: "json_object" };
    else if (format.type === "json_schema") {
      const schema = format as Extract<typeof format, { type: "json_schema" }>;
      out.response_format = {
        type: "json_schema",
        json_schema: {
          name: schema.name,
          schema: schema.schema,
          ...(schema.strict == null ? {} : { strict: schema.strict }),
          ...(schema.description === undefined ? {} : { description: schema.description }),
        },
      };
    }
  }
  const effort = request.reasoning?.effort;
  if (typeof effort === "string") out.reasoning_effort = effort;
  if (request.stream === true) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }
  return out;
}
