import type { AnswerPlan } from "./behaviour.js";
import { mockVector } from "./openai.js";
import {
  type MockUpstream,
  type Route,
  type StartOptions,
  startMockUpstream,
  type WireFormat,
} from "./server.js";

/** Gemini API v1beta (https://ai.google.dev/api/generate-content, .../embeddings). */

const STATUS_NAMES: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

export function geminiErrorBody(status: number, message: string | undefined): unknown {
  const name = STATUS_NAMES[status] ?? (status === 401 ? "UNAUTHENTICATED" : "UNKNOWN");
  return { error: { code: status, message: message ?? `Request failed: ${name}`, status: name } };
}

const PATH =
  /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|embedContent|batchEmbedContents)$/;

function usageMetadata(plan: AnswerPlan) {
  return {
    promptTokenCount: plan.promptTokens,
    candidatesTokenCount: plan.completionTokens,
    totalTokenCount: plan.promptTokens + plan.completionTokens,
  };
}

function response(
  parts: unknown[],
  finish: string | undefined,
  plan: AnswerPlan,
  route: Route,
  withUsage: boolean,
) {
  return {
    candidates: [
      {
        content: { parts, role: "model" },
        ...(finish === undefined ? {} : { finishReason: finish }),
        index: 0,
      },
    ],
    ...(withUsage ? { usageMetadata: usageMetadata(plan) } : {}),
    modelVersion: route.model,
    responseId: "mock-response",
  };
}

function answerJson(plan: AnswerPlan, route: Route) {
  const parts =
    plan.kind === "text"
      ? [{ text: plan.pieces.join("") }]
      : [{ functionCall: { name: plan.name, args: plan.arguments } }];
  return response(parts, "STOP", plan, route, true);
}

/** Gemini streams whole candidates: text in pieces, a function call in one piece; usage on each chunk. */
function answerFrames(plan: AnswerPlan, route: Route): string[] {
  if (plan.kind === "tool") {
    return [
      `data: ${JSON.stringify(response([{ functionCall: { name: plan.name, args: plan.arguments } }], "STOP", plan, route, true))}\r\n\r\n`,
    ];
  }
  return plan.pieces.map((text, i) => {
    const last = i === plan.pieces.length - 1;
    return `data: ${JSON.stringify(response([{ text }], last ? "STOP" : undefined, plan, route, true))}\r\n\r\n`;
  });
}

export const geminiWire: WireFormat = {
  basePath: "/v1beta",
  route(method, url) {
    const match = PATH.exec(url.pathname);
    if (method !== "POST" || match?.[1] === undefined) return null;
    const action = match[2];
    if (action === "streamGenerateContent" && url.searchParams.get("alt") !== "sse") return null;
    return {
      operation: action === "embedContent" || action === "batchEmbedContents" ? "embeddings" : "chat",
      stream: action === "streamGenerateContent",
      model: match[1],
    };
  },
  checkRequest(headers, url, apiKey) {
    const key = headers["x-goog-api-key"] ?? url.searchParams.get("key");
    if (key === apiKey) return null;
    return {
      status: 400,
      body: {
        error: {
          code: 400,
          message: "API key not valid. Please pass a valid API key.",
          status: "INVALID_ARGUMENT",
          details: [
            {
              "@type": "type.googleapis.com/google.rpc.ErrorInfo",
              reason: "API_KEY_INVALID",
              domain: "googleapis.com",
            },
          ],
        },
      },
    };
  },
  errorBody: geminiErrorBody,
  json: answerJson,
  frames: answerFrames,
  streamErrorFrame: (errorType, message) =>
    `data: ${JSON.stringify({ error: { code: 500, message: message ?? "An internal error has occurred.", status: errorType ?? "INTERNAL" } })}\r\n\r\n`,
  embeddings(_route, body) {
    const textOf = (content: unknown) =>
      ((content as { parts?: Array<{ text?: string }> } | undefined)?.parts ?? [])
        .map((p) => p.text ?? "")
        .join("");
    if (Array.isArray(body.requests)) {
      return {
        embeddings: (body.requests as Array<{ content?: unknown; outputDimensionality?: number }>).map(
          (r) => ({
            values: mockVector(textOf(r.content), r.outputDimensionality ?? 8),
          }),
        ),
      };
    }
    const dims = typeof body.outputDimensionality === "number" ? body.outputDimensionality : 8;
    return { embedding: { values: mockVector(textOf(body.content), dims) } };
  },
};

/** The Gemini API at `{url}` (which ends in `/v1beta`). */
export function startGeminiUpstream(options?: StartOptions): Promise<MockUpstream> {
  return startMockUpstream(geminiWire, options);
}
