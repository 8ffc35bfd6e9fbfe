import type { AnswerPlan } from "./behaviour.js";
import {
  type MockUpstream,
  type Route,
  type StartOptions,
  startMockUpstream,
  type WireFormat,
} from "./server.js";

/** Anthropic Messages API (https://docs.anthropic.com/en/api/messages, .../messages-streaming). */

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

export function anthropicErrorBody(status: number, message: string | undefined): unknown {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
  return { type: "error", error: { type, message: message ?? `${type} (status ${status})` } };
}

function event(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

function messageJson(plan: AnswerPlan, route: Route) {
  const content =
    plan.kind === "text"
      ? [{ type: "text", text: plan.pieces.join("") }]
      : [
          { type: "text", text: "Let me use a tool." },
          {
            type: "tool_use",
            id: plan.id.replace("call_", "toolu_"),
            name: plan.name,
            input: plan.arguments,
          },
        ];
  return {
    id: "msg_mock",
    type: "message",
    role: "assistant",
    model: route.model,
    content,
    stop_reason: plan.kind === "text" ? "end_turn" : "tool_use",
    stop_sequence: null,
    usage: {
      input_tokens: plan.promptTokens,
      output_tokens: plan.completionTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    },
  };
}

function messageFrames(plan: AnswerPlan, route: Route): string[] {
  const frames = [
    event("message_start", {
      message: {
        id: "msg_mock",
        type: "message",
        role: "assistant",
        model: route.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: plan.promptTokens,
          output_tokens: 1,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
        },
      },
    }),
    event("ping", {}),
  ];
  if (plan.kind === "text") {
    frames.push(event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }));
    for (const text of plan.pieces)
      frames.push(event("content_block_delta", { index: 0, delta: { type: "text_delta", text } }));
    frames.push(event("content_block_stop", { index: 0 }));
  } else {
    frames.push(event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }));
    frames.push(
      event("content_block_delta", { index: 0, delta: { type: "text_delta", text: "Let me use a tool." } }),
    );
    frames.push(event("content_block_stop", { index: 0 }));
    frames.push(
      event("content_block_start", {
        index: 1,
        content_block: {
          type: "tool_use",
          id: plan.id.replace("call_", "toolu_"),
          name: plan.name,
          input: {},
        },
      }),
    );
    frames.push(
      event("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: "" } }),
    );
    for (const piece of plan.argumentPieces) {
      frames.push(
        event("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: piece } }),
      );
    }
    frames.push(event("content_block_stop", { index: 1 }));
  }
  frames.push(
    event("message_delta", {
      delta: { stop_reason: plan.kind === "text" ? "end_turn" : "tool_use", stop_sequence: null },
      usage: { output_tokens: plan.completionTokens },
    }),
  );
  frames.push(event("message_stop", {}));
  return frames;
}

export const anthropicWire: WireFormat = {
  basePath: "",
  route(method, url, body) {
    if (method !== "POST" || url.pathname !== "/v1/messages") return null;
    const params = (body ?? {}) as Record<string, unknown>;
    return { operation: "chat", stream: params.stream === true, model: String(params.model ?? "") };
  },
  checkRequest(headers, _url, apiKey) {
    if (headers["x-api-key"] !== apiKey)
      return { status: 401, body: anthropicErrorBody(401, "invalid x-api-key") };
    if (typeof headers["anthropic-version"] !== "string") {
      return { status: 400, body: anthropicErrorBody(400, "anthropic-version: header is required") };
    }
    return null;
  },
  errorBody: anthropicErrorBody,
  json: messageJson,
  frames: messageFrames,
  streamErrorFrame: (errorType, message) =>
    event("error", { error: { type: errorType ?? "overloaded_error", message: message ?? "Overloaded" } }),
  embeddings: () => anthropicErrorBody(404, "Not found"),
};

/** The Anthropic API at `{url}` (requests go to `{url}/v1/messages`). */
export function startAnthropicUpstream(options?: StartOptions): Promise<MockUpstream> {
  return startMockUpstream(anthropicWire, options);
}
