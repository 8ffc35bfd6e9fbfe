import { randomFillSync } from "node:crypto";
import type { OpenAIChatResponse, OpenAIFinishReason } from "../openai-compatible/wire.js";
import type { Usage } from "../types.js";
import type {
  ResponsesOutputItem,
  ResponsesRequest,
  ResponsesResponse,
  ResponsesStatus,
  ResponsesUsage,
} from "./wire.js";

/** Responses Gatehouse answers itself (translated accounts) carry this prefix, so they can be told apart. */
export const TRANSLATED_RESPONSE_PREFIX = "resp_gh";

const ID_BYTES = 16;
/** Random bytes for 256 ids, refilled from OpenSSL in one call when used up (per call it costs ~1 µs). */
const pool = Buffer.alloc(ID_BYTES * 256);
let poolAt = pool.length;

/** 128 random bits as 32 hex characters (the shape OpenAI's ids have), from the pool above. */
function randomId(prefix: string): string {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const start = poolAt;
  poolAt += ID_BYTES;
  return prefix + pool.toString("hex", start, poolAt);
}

export const newTranslatedResponseId = (): string => randomId(`${TRANSLATED_RESPONSE_PREFIX}_`);
export const newMessageItemId = (): string => randomId("msg_");
export const newFunctionCallItemId = (): string => randomId("fc_");
export const newInputItemId = (): string => randomId("item_");

/** Whether Gatehouse minted this response id (on a translated account) rather than a provider. */
export function isTranslatedResponseId(id: string): boolean {
  return id.startsWith(`${TRANSLATED_RESPONSE_PREFIX}_`);
}

export function usageToResponsesUsage(usage: Usage | null): ResponsesUsage | null {
  if (usage === null) return null;
  return {
    input_tokens: usage.promptTokens,
    input_tokens_details: { cached_tokens: usage.cachedTokens ?? 0 },
    output_tokens: usage.completionTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
    total_tokens: usage.totalTokens,
  };
}

/** Reads a Responses `usage` object (native answers) as the gateway's Usage. */
export function responsesUsageToUsage(usage: unknown): Usage | null {
  if (typeof usage !== "object" || usage === null) return null;
  const u = usage as Partial<ResponsesUsage>;
  const promptTokens = typeof u.input_tokens === "number" ? u.input_tokens : 0;
  const completionTokens = typeof u.output_tokens === "number" ? u.output_tokens : 0;
  const out: Usage = {
    promptTokens,
    completionTokens,
    totalTokens: typeof u.total_tokens === "number" ? u.total_tokens : promptTokens + completionTokens,
  };
  const cached = u.input_tokens_details?.cached_tokens;
  const reasoning = u.output_tokens_details?.reasoning_tokens;
  if (typeof cached === "number" && cached > 0) out.cachedTokens = cached;
  if (typeof reasoning === "number" && reasoning > 0) out.reasoningTokens = reasoning;
  return out;
}

export function openAIFinishReasonToResponsesStatus(reason: OpenAIFinishReason | null | undefined): {
  status: ResponsesStatus;
  incomplete: { reason: string } | null;
} {
  if (reason === "length") return { status: "incomplete", incomplete: { reason: "max_output_tokens" } };
  if (reason === "content_filter") return { status: "incomplete", incomplete: { reason: "content_filter" } };
  return { status: "completed", incomplete: null };
}

/** Everything of a Response object that echoes the request rather than the answer. */
export interface ResponseFrame {
  id: string;
  createdAt: number;
  model: string;
  request: ResponsesRequest;
  /** Whether Gatehouse keeps this response (its store is on and the caller did not say `store: false`). */
  store: boolean;
}

/** The default `text.format`, shared so `responseJson` can recognise it without looking inside. */
const PLAIN_TEXT = Object.freeze({ type: "text" as const });

const json = JSON.stringify;
/** Any JSON value; `null`, booleans and finite numbers without a call into JSON.stringify. */
function value(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return json(v) ?? "null";
}

function isEmptyObject(v: object): boolean {
  for (const _ in v) return false;
  return true;
}

function usageJson(u: ResponsesUsage | null): string {
  if (u === null) return "null";
  return `{"input_tokens":${value(u.input_tokens)},"input_tokens_details":{"cached_tokens":${value(u.input_tokens_details.cached_tokens)}},"output_tokens":${value(u.output_tokens)},"output_tokens_details":{"reasoning_tokens":${value(u.output_tokens_details.reasoning_tokens)}},"total_tokens":${value(u.total_tokens)}}`;
}

/**
 * `JSON.stringify(responseShell(...))`, byte for byte, at a third of the cost: most of a Response
 * object echoes request fields that are usually absent, so their defaults are written as constants
 * and only the answer itself (`output`) and what the caller set go through JSON.stringify.
 */
export function responseJson(r: ResponsesResponse): string {
  const reasoning =
    r.reasoning.effort === null && r.reasoning.summary === null
      ? '{"effort":null,"summary":null}'
      : json(r.reasoning);
  const text = r.text.format === PLAIN_TEXT ? '{"format":{"type":"text"}}' : json(r.text);
  const tools = r.tools.length === 0 ? "[]" : json(r.tools);
  const metadata = isEmptyObject(r.metadata) ? "{}" : json(r.metadata);
  return (
    `{"id":${json(r.id)},"object":"response","created_at":${value(r.created_at)},"status":${json(r.status)}` +
    `,"error":${value(r.error)},"incomplete_details":${value(r.incomplete_details)}` +
    `,"instructions":${value(r.instructions)},"max_output_tokens":${value(r.max_output_tokens)}` +
    `,"model":${json(r.model)},"output":${json(r.output)},"parallel_tool_calls":${value(r.parallel_tool_calls)}` +
    `,"previous_response_id":${value(r.previous_response_id)},"reasoning":${reasoning},"store":${value(r.store)}` +
    `,"temperature":${value(r.temperature)},"text":${text},"tool_choice":${value(r.tool_choice)},"tools":${tools}` +
    `,"top_p":${value(r.top_p)},"truncation":${json(r.truncation)},"usage":${usageJson(r.usage)}` +
    `,"user":${value(r.user)},"metadata":${metadata}}`
  );
}

export function responseShell(
  frame: ResponseFrame,
  status: ResponsesStatus,
  output: ResponsesOutputItem[],
  usage: Usage | null,
  incomplete: { reason: string } | null = null,
): ResponsesResponse {
  const r = frame.request;
  return {
    id: frame.id,
    object: "response",
    created_at: frame.createdAt,
    status,
    error: null,
    incomplete_details: incomplete,
    instructions: typeof r.instructions === "string" ? r.instructions : null,
    max_output_tokens: r.max_output_tokens ?? null,
    model: frame.model,
    output,
    parallel_tool_calls: r.parallel_tool_calls ?? true,
    previous_response_id: r.previous_response_id ?? null,
    reasoning: { effort: r.reasoning?.effort ?? null, summary: null },
    store: frame.store,
    temperature: r.temperature ?? null,
    text: { format: r.text?.format ?? PLAIN_TEXT },
    tool_choice: r.tool_choice ?? "auto",
    tools: r.tools ?? [],
    top_p: r.top_p ?? null,
    truncation: "disabled",
    usage: usageToResponsesUsage(usage),
    user: typeof r.user === "string" ? r.user : null,
    metadata: r.metadata ?? {},
  };
}

/** A non-streaming chat answer as a Response object. */
export function openAIChatResponseToOpenAIResponse(
  chat: OpenAIChatResponse,
  frame: ResponseFrame,
  usage: Usage | null,
): ResponsesResponse {
  const choice = chat.choices?.[0];
  const message = choice?.message;
  const output: ResponsesOutputItem[] = [];
  const text = typeof message?.content === "string" ? message.content : "";
  const refusal = typeof message?.refusal === "string" ? message.refusal : "";
  const calls = message?.tool_calls ?? [];
  if (text !== "" || refusal !== "" || calls.length === 0) {
    output.push({
      type: "message",
      id: newMessageItemId(),
      status: "completed",
      role: "assistant",
      content:
        refusal !== ""
          ? [{ type: "refusal", refusal }]
          : [{ type: "output_text", text, annotations: [], logprobs: [] }],
    });
  }
  for (const call of calls) {
    output.push({
      type: "function_call",
      id: newFunctionCallItemId(),
      call_id: call.id,
      name: call.function.name,
      arguments: call.function.arguments,
      status: "completed",
    });
  }
  const { status, incomplete } = openAIFinishReasonToResponsesStatus(choice?.finish_reason);
  return responseShell(frame, status, output, usage, incomplete);
}
