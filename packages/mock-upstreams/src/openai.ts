import { createHash } from "node:crypto";
import type { AnswerPlan } from "./behaviour.js";
import { ResponsesStore, responsesErrorFrame } from "./openai-responses.js";
import {
  type MockUpstream,
  type Route,
  type StartOptions,
  startMockUpstream,
  type WireFormat,
} from "./server.js";

/** OpenAI wire format (https://platform.openai.com/docs/api-reference/chat). Azure reuses it. */

const CREATED = 1_717_000_000;

const ERROR_TYPES: Record<number, [string, string | null]> = {
  400: ["invalid_request_error", null],
  401: ["invalid_request_error", "invalid_api_key"],
  403: ["invalid_request_error", "unsupported_country_region_territory"],
  404: ["invalid_request_error", "model_not_found"],
  429: ["requests", "rate_limit_exceeded"],
  500: ["server_error", null],
  503: ["server_error", null],
};

export function openAIErrorBody(status: number, message: string | undefined): unknown {
  const [type, code] = ERROR_TYPES[status] ?? ["server_error", null];
  return {
    error: {
      message:
        message ??
        (status >= 500
          ? "The server had an error while processing your request."
          : `Request failed with status ${status}.`),
      type,
      param: null,
      code,
    },
  };
}

export function mockVector(text: string, dims: number): number[] {
  const digest = createHash("sha256").update(text).digest();
  return Array.from({ length: dims }, (_, i) => ((digest[i % digest.length] ?? 0) - 128) / 128);
}

function usage(plan: AnswerPlan) {
  return {
    prompt_tokens: plan.promptTokens,
    completion_tokens: plan.completionTokens,
    total_tokens: plan.promptTokens + plan.completionTokens,
  };
}

function chatJson(plan: AnswerPlan, route: Route) {
  const message =
    plan.kind === "text"
      ? { role: "assistant", content: plan.pieces.join(""), refusal: null, annotations: [] }
      : {
          role: "assistant",
          content: null,
          refusal: null,
          tool_calls: [
            {
              id: plan.id,
              type: "function",
              function: { name: plan.name, arguments: JSON.stringify(plan.arguments) },
            },
          ],
        };
  return {
    id: "chatcmpl-mock",
    object: "chat.completion",
    created: CREATED,
    model: route.model,
    choices: [
      { index: 0, message, logprobs: null, finish_reason: plan.kind === "text" ? "stop" : "tool_calls" },
    ],
    usage: usage(plan),
    system_fingerprint: "fp_mock",
  };
}

function chatFrames(plan: AnswerPlan, route: Route, body: Record<string, unknown>): string[] {
  const includeUsage =
    (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const base = {
    id: "chatcmpl-mock",
    object: "chat.completion.chunk",
    created: CREATED,
    model: route.model,
    system_fingerprint: "fp_mock",
  };
  const frame = (delta: Record<string, unknown>, finish: string | null) =>
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(includeUsage ? { usage: null } : {}) })}\n\n`;
  const frames = [frame({ role: "assistant", content: "", refusal: null }, null)];
  if (plan.kind === "text") {
    for (const piece of plan.pieces) frames.push(frame({ content: piece }, null));
    frames.push(frame({}, "stop"));
  } else {
    frames.push(
      frame(
        {
          tool_calls: [
            { index: 0, id: plan.id, type: "function", function: { name: plan.name, arguments: "" } },
          ],
        },
        null,
      ),
    );
    for (const piece of plan.argumentPieces)
      frames.push(frame({ tool_calls: [{ index: 0, function: { arguments: piece } }] }, null));
    frames.push(frame({}, "tool_calls"));
  }
  if (includeUsage) frames.push(`data: ${JSON.stringify({ ...base, choices: [], usage: usage(plan) })}\n\n`);
  frames.push("data: [DONE]\n\n");
  return frames;
}

function completionJson(plan: AnswerPlan, route: Route) {
  const text = plan.kind === "text" ? plan.pieces.join("") : "";
  return {
    id: "cmpl-mock",
    object: "text_completion",
    created: CREATED,
    model: route.model,
    choices: [{ text, index: 0, logprobs: null, finish_reason: "stop" }],
    usage: usage(plan),
  };
}

function completionFrames(plan: AnswerPlan, route: Route, body: Record<string, unknown>): string[] {
  const includeUsage =
    (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const base = { id: "cmpl-mock", object: "text_completion", created: CREATED, model: route.model };
  const pieces = plan.kind === "text" ? plan.pieces : [];
  const frames = pieces.map(
    (text) =>
      `data: ${JSON.stringify({ ...base, choices: [{ text, index: 0, logprobs: null, finish_reason: null }] })}\n\n`,
  );
  frames.push(
    `data: ${JSON.stringify({ ...base, choices: [{ text: "", index: 0, logprobs: null, finish_reason: "stop" }] })}\n\n`,
  );
  if (includeUsage) frames.push(`data: ${JSON.stringify({ ...base, choices: [], usage: usage(plan) })}\n\n`);
  frames.push("data: [DONE]\n\n");
  return frames;
}

export function openAIEmbeddings(route: Route, body: Record<string, unknown>) {
  const input = body.input;
  const texts =
    typeof input === "string" ? [input] : Array.isArray(input) ? input.map((i) => JSON.stringify(i)) : [];
  const dims = typeof body.dimensions === "number" ? body.dimensions : 8;
  const tokens = texts.reduce((sum, t) => sum + Math.max(1, t.split(/\s+/).filter(Boolean).length), 0);
  return {
    object: "list",
    data: texts.map((text, index) => ({ object: "embedding", index, embedding: mockVector(text, dims) })),
    model: route.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/**
 * The parts of the OpenAI wire format that do not depend on how requests are routed; one set per
 * upstream, since stored responses live in it. `responsesPrefix` is where `/responses` lives.
 */
export function openAIBodies(responsesPrefix: string) {
  const responses = new ResponsesStore();
  return {
    errorBody: openAIErrorBody,
    json: (plan: AnswerPlan, route: Route, body: Record<string, unknown>) =>
      route.operation === "completions"
        ? completionJson(plan, route)
        : route.operation === "responses"
          ? responses.json(plan, route, body)
          : chatJson(plan, route),
    frames: (plan: AnswerPlan, route: Route, body: Record<string, unknown>) =>
      route.operation === "completions"
        ? completionFrames(plan, route, body)
        : route.operation === "responses"
          ? responses.frames(plan, route, body)
          : chatFrames(plan, route, body),
    streamErrorFrame: (errorType: string | undefined, message: string | undefined, route: Route) =>
      route.operation === "responses"
        ? responsesErrorFrame(errorType, message)
        : `data: ${JSON.stringify({ error: { message: message ?? "The server had an error while processing your request.", type: errorType ?? "server_error", param: null, code: null } })}\n\n`,
    embeddings: openAIEmbeddings,
    checkRoute: (route: Route, body: Record<string, unknown>) =>
      route.operation === "responses" ? responses.check(body) : null,
    manage(method: string, url: URL) {
      if (!url.pathname.startsWith(`${responsesPrefix}/`)) return null;
      return responses.manage(method, url.pathname.slice(responsesPrefix.length));
    },
  };
}

const OPERATIONS: Record<string, Route["operation"]> = {
  "/v1/chat/completions": "chat",
  "/v1/embeddings": "embeddings",
  "/v1/completions": "completions",
  "/v1/responses": "responses",
};

const EMBEDDINGS_ARGUMENTS = new Set(["input", "model", "encoding_format", "dimensions", "user"]);

/** OpenAI answers unknown embeddings arguments with a 400; the mock does too, so adapters must not send them. */
export function unknownEmbeddingsArgument(body: unknown): string | undefined {
  return Object.keys((body ?? {}) as Record<string, unknown>).find((key) => !EMBEDDINGS_ARGUMENTS.has(key));
}

export function unknownArgumentRefusal(url: URL, body: unknown): { status: number; body: unknown } | null {
  if (!url.pathname.endsWith("/embeddings")) return null;
  const unknown = unknownEmbeddingsArgument(body);
  if (unknown === undefined) return null;
  return { status: 400, body: openAIErrorBody(400, `Unrecognized request argument supplied: ${unknown}`) };
}

export const createOpenAIWire = (): WireFormat => ({
  basePath: "/v1",
  route(method, url, body) {
    const operation = OPERATIONS[url.pathname];
    if (method !== "POST" || operation === undefined) return null;
    const params = (body ?? {}) as Record<string, unknown>;
    return { operation, stream: params.stream === true, model: String(params.model ?? "") };
  },
  checkRequest(headers, url, apiKey, body) {
    if (headers.authorization === `Bearer ${apiKey}`) return unknownArgumentRefusal(url, body);
    return {
      status: 401,
      body: {
        error: {
          message:
            "Incorrect API key provided: sk-wrong****. You can find your API key at https://platform.openai.com/account/api-keys.",
          type: "invalid_request_error",
          param: null,
          code: "invalid_api_key",
        },
      },
    };
  },
  ...openAIBodies("/v1/responses"),
});

/** An OpenAI-compatible server at `{url}` (which ends in `/v1`). */
export function startOpenAIUpstream(options?: StartOptions): Promise<MockUpstream> {
  return startMockUpstream(createOpenAIWire(), options);
}
