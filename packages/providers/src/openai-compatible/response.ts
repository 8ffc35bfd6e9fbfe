import { type ErrorContext, malformedUpstream, readErrorMessage, upstreamStreamError } from "../errors.js";
import type { SseEvent } from "../sse.js";
import { parseJsonEvent } from "../transport.js";
import type { Usage } from "../types.js";
import type { OpenAIUsage } from "./wire.js";

export function openAIUsageToUsage(usage: unknown): Usage | null {
  if (typeof usage !== "object" || usage === null) return null;
  const u = usage as Partial<OpenAIUsage>;
  const promptTokens = typeof u.prompt_tokens === "number" ? u.prompt_tokens : 0;
  const completionTokens = typeof u.completion_tokens === "number" ? u.completion_tokens : 0;
  const totalTokens = typeof u.total_tokens === "number" ? u.total_tokens : promptTokens + completionTokens;
  const out: Usage = { promptTokens, completionTokens, totalTokens };
  const cached = (u.prompt_tokens_details as { cached_tokens?: unknown } | undefined)?.cached_tokens;
  const reasoning = (u.completion_tokens_details as { reasoning_tokens?: unknown } | undefined)
    ?.reasoning_tokens;
  if (typeof cached === "number" && cached > 0) out.cachedTokens = cached;
  if (typeof reasoning === "number" && reasoning > 0) out.reasoningTokens = reasoning;
  return out;
}

/** Usage as OpenAI reports it, with the cached/reasoning details when the provider gave them. */
export function usageToOpenAIUsage(usage: Usage): OpenAIUsage {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.totalTokens,
    ...(usage.cachedTokens === undefined
      ? {}
      : { prompt_tokens_details: { cached_tokens: usage.cachedTokens } }),
    ...(usage.reasoningTokens === undefined
      ? {}
      : { completion_tokens_details: { reasoning_tokens: usage.reasoningTokens } }),
  };
}

/** A stream of OpenAI-shaped chunk objects with the usage seen so far. */
export interface UsageTrackingStream<TChunk> {
  chunks: AsyncIterable<TChunk>;
  usage(): Usage | null;
}

/**
 * Reads an OpenAI-style SSE body (chat or completions chunks) until `data: [DONE]`.
 * An `{"error": ...}` event, or an end without `[DONE]`, fails the stream.
 */
export function openAISseToChunks<TChunk extends { usage?: unknown }>(
  events: AsyncIterable<SseEvent>,
  errors: ErrorContext,
): UsageTrackingStream<TChunk> {
  let usage: Usage | null = null;
  async function* iterate(): AsyncGenerator<TChunk> {
    for await (const event of events) {
      if (event.data === "[DONE]") return;
      const chunk = parseJsonEvent<TChunk & { error?: unknown }>(event.data);
      if (typeof chunk !== "object" || chunk === null)
        throw malformedUpstream("stream event is not an object");
      if (chunk.error !== undefined) {
        throw upstreamStreamError(
          readErrorMessage(chunk, "error", "type"),
          readErrorMessage(chunk, "error", "message"),
          errors,
        );
      }
      const seen = openAIUsageToUsage(chunk.usage);
      if (seen !== null) usage = seen;
      yield chunk;
    }
    throw malformedUpstream("stream ended without [DONE]");
  }
  return { chunks: iterate(), usage: () => usage };
}

/**
 * Renders OpenAI chunk objects as SSE frames for an OpenAI-dialect caller. The final usage-only
 * chunk and the per-chunk `usage: null` are dropped unless the caller asked for
 * `stream_options.include_usage`, exactly as OpenAI itself would behave.
 */
export async function* openAIChunksToFrames(
  chunks: AsyncIterable<{ usage?: unknown; choices?: unknown }>,
  wantsUsage: boolean,
): AsyncGenerator<string> {
  for await (const chunk of chunks) {
    if (!wantsUsage) {
      if (Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage) continue;
      if ("usage" in chunk) {
        const { usage: _dropped, ...rest } = chunk;
        yield `data: ${JSON.stringify(rest)}\n\n`;
        continue;
      }
    }
    yield `data: ${JSON.stringify(chunk)}\n\n`;
  }
  yield "data: [DONE]\n\n";
}
