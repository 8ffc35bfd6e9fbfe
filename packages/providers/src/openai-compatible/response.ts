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
  return { promptTokens, completionTokens, totalTokens };
}

export function usageToOpenAIUsage(usage: Usage): OpenAIUsage {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.totalTokens,
  };
}

/**
 * The upstream's own JSON text of each chunk object `openAISseToChunks` yields, so that a chunk
 * passed on unchanged in the OpenAI dialect is relayed as the upstream wrote it instead of being
 * serialised again (`JSON.stringify` was about half of dispatch's per-chunk work). Chunks are not
 * modified between the two; one that were would have to be deleted from here.
 */
const upstreamText = new WeakMap<object, string>();

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
      // A data field of several lines joins them with "\n", which cannot be written back as one.
      if (!event.data.includes("\n")) upstreamText.set(chunk, event.data);
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
    const text = upstreamText.get(chunk);
    if (!wantsUsage) {
      if (Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage) continue;
      if ("usage" in chunk) {
        const cut = chunk.usage === null && text !== undefined ? withoutTrailingNullUsage(text) : undefined;
        if (cut !== undefined) {
          yield `data: ${cut}\n\n`;
          continue;
        }
        const { usage: _dropped, ...rest } = chunk;
        yield `data: ${JSON.stringify(rest)}\n\n`;
        continue;
      }
    }
    yield `data: ${text ?? JSON.stringify(chunk)}\n\n`;
  }
  yield "data: [DONE]\n\n";
}

const NULL_USAGE = ',"usage":null}';

/**
 * `{…,"usage":null}` → `{…}`, for the text of a chunk that parsed with `usage: null`; undefined when
 * the text has any other shape, and the caller serialises the object instead. This is OpenAI's
 * own layout for every chunk once usage is asked for (Gatehouse always asks). The suffix is the
 * top-level member: the text is valid JSON ending in `}`, so the `null` before that brace is a
 * value of the outermost object, and `,"` cannot occur unescaped inside a string. Cut only when it
 * is the text's one `"usage"`, so a duplicate key (JSON.parse keeps the last) is never left behind.
 */
export function withoutTrailingNullUsage(text: string): string | undefined {
  if (!text.endsWith(NULL_USAGE)) return undefined;
  const at = text.length - NULL_USAGE.length;
  if (text.indexOf('"usage"') !== at + 1) return undefined;
  return `${text.slice(0, at)}}`;
}
