import { randomUUID } from "node:crypto";
import { type ErrorContext, malformedUpstream, readErrorMessage, upstreamStreamError } from "../errors.js";
import { usageToOpenAIUsage } from "../openai-compatible/response.js";
import type {
  OpenAIChatChunk,
  OpenAIChatResponse,
  OpenAIFinishReason,
  OpenAIToolCall,
} from "../openai-compatible/wire.js";
import type { Usage } from "../types.js";
import type {
  GeminiCandidate,
  GeminiFinishReason,
  GeminiGenerateContentResponse,
  GeminiUsageMetadata,
} from "./wire.js";

export function geminiFinishReasonToOpenAI(
  reason: GeminiFinishReason | undefined,
  hasToolCalls: boolean,
): OpenAIFinishReason | null {
  if (reason === undefined) return null;
  switch (reason) {
    case "STOP":
      return hasToolCalls ? "tool_calls" : "stop";
    case "MAX_TOKENS":
      return "length";
    case "SAFETY":
    case "RECITATION":
    case "BLOCKLIST":
    case "PROHIBITED_CONTENT":
    case "SPII":
    case "IMAGE_SAFETY":
      return "content_filter";
    default:
      return hasToolCalls ? "tool_calls" : "stop";
  }
}

export function geminiUsageToUsage(usage: GeminiUsageMetadata | undefined): Usage | null {
  if (usage === undefined) return null;
  const promptTokens = usage.promptTokenCount ?? 0;
  const completionTokens = (usage.candidatesTokenCount ?? 0) + (usage.thoughtsTokenCount ?? 0);
  const out: Usage = {
    promptTokens,
    completionTokens,
    totalTokens: usage.totalTokenCount ?? promptTokens + completionTokens,
  };
  if ((usage.cachedContentTokenCount ?? 0) > 0) out.cachedTokens = usage.cachedContentTokenCount;
  if ((usage.thoughtsTokenCount ?? 0) > 0) out.reasoningTokens = usage.thoughtsTokenCount;
  return out;
}

function newToolCallId(): string {
  return `call_${randomUUID().replaceAll("-", "").slice(0, 24)}`;
}

function candidateParts(candidate: GeminiCandidate): { text: string; toolCalls: OpenAIToolCall[] } {
  let text = "";
  const toolCalls: OpenAIToolCall[] = [];
  for (const part of candidate.content?.parts ?? []) {
    if ("text" in part && part.thought !== true) text += part.text;
    else if ("functionCall" in part) {
      toolCalls.push({
        id: part.functionCall.id ?? newToolCallId(),
        type: "function",
        function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) },
      });
    }
  }
  return { text, toolCalls };
}

export function geminiResponseToOpenAIChat(
  response: GeminiGenerateContentResponse,
  model: string,
): OpenAIChatResponse {
  if (typeof response !== "object" || response === null)
    throw malformedUpstream("Gemini body is not an object");
  const candidates = response.candidates ?? [];
  const usage = geminiUsageToUsage(response.usageMetadata);
  const choices: OpenAIChatResponse["choices"] =
    candidates.length === 0
      ? // A blocked prompt has no candidates, only promptFeedback.
        [
          {
            index: 0,
            message: { role: "assistant", content: "", refusal: null },
            finish_reason: "content_filter",
            logprobs: null,
          },
        ]
      : candidates.map((candidate, i) => {
          const { text, toolCalls } = candidateParts(candidate);
          return {
            index: candidate.index ?? i,
            message: {
              role: "assistant",
              content: text === "" && toolCalls.length > 0 ? null : text,
              ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
              refusal: null,
            },
            finish_reason: geminiFinishReasonToOpenAI(candidate.finishReason ?? "STOP", toolCalls.length > 0),
            logprobs: null,
          };
        });
  return {
    id: `chatcmpl-${response.responseId ?? randomUUID()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: response.modelVersion ?? model,
    choices,
    ...(usage === null
      ? {}
      : {
          usage: usageToOpenAIUsage(usage),
        }),
  };
}

/** Stateful: Gemini `streamGenerateContent?alt=sse` responses in, OpenAI chat chunks out. */
export class GeminiChunksToOpenAIChunks {
  private readonly id = `chatcmpl-${randomUUID()}`;
  private readonly created = Math.floor(Date.now() / 1000);
  private lastUsage: Usage | null = null;
  private readonly started = new Set<number>();
  private readonly toolCounts = new Map<number, number>();

  constructor(
    private readonly model: string,
    private readonly errors: ErrorContext,
  ) {}

  usage(): Usage | null {
    return this.lastUsage;
  }

  push(response: GeminiGenerateContentResponse & { error?: unknown }): OpenAIChatChunk[] {
    if (typeof response !== "object" || response === null)
      throw malformedUpstream("Gemini stream event is not an object");
    if (response.error !== undefined) {
      throw upstreamStreamError(
        readErrorMessage(response, "error", "status"),
        readErrorMessage(response, "error", "message"),
        this.errors,
      );
    }
    const usage = geminiUsageToUsage(response.usageMetadata);
    if (usage !== null) this.lastUsage = usage;
    const out: OpenAIChatChunk[] = [];
    for (const [i, candidate] of (response.candidates ?? []).entries()) {
      const index = candidate.index ?? i;
      if (!this.started.has(index)) {
        this.started.add(index);
        out.push(this.chunk(index, { role: "assistant", content: "" }, null));
      }
      const { text, toolCalls } = candidateParts(candidate);
      if (text !== "") out.push(this.chunk(index, { content: text }, null));
      if (toolCalls.length > 0) {
        // Gemini sends each function call whole, so each becomes one complete tool_call delta.
        const base = this.toolCounts.get(index) ?? 0;
        this.toolCounts.set(index, base + toolCalls.length);
        out.push(
          this.chunk(index, { tool_calls: toolCalls.map((call, k) => ({ index: base + k, ...call })) }, null),
        );
      }
      if (candidate.finishReason !== undefined) {
        const finish = geminiFinishReasonToOpenAI(
          candidate.finishReason,
          (this.toolCounts.get(index) ?? 0) > 0,
        );
        out.push(this.chunk(index, {}, finish));
      }
    }
    return out;
  }

  /** The trailing usage chunk, as OpenAI sends it with include_usage. */
  finish(): OpenAIChatChunk[] {
    if (this.lastUsage === null) return [];
    return [
      {
        id: this.id,
        object: "chat.completion.chunk",
        created: this.created,
        model: this.model,
        choices: [],
        usage: usageToOpenAIUsage(this.lastUsage),
      },
    ];
  }

  private chunk(
    index: number,
    delta: OpenAIChatChunk["choices"][number]["delta"],
    finish: OpenAIFinishReason | null,
  ): OpenAIChatChunk {
    return {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.model,
      choices: [{ index, delta, finish_reason: finish, logprobs: null }],
    };
  }
}
