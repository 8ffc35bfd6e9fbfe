import type { Usage } from "@gatehouse/contracts";

/**
 * Token counts Gatehouse makes itself, for a call the provider never reported usage for (a stream
 * the caller aborted, or that failed after its first bytes): the provider billed what it had sent
 * so far, so a record without counts would under-report spend.
 *
 * Models of the OpenAI family are counted with their own BPE (o200k_base, via `gpt-tokenizer`,
 * pure JS, loaded only when an estimate is made); for every other model no public tokenizer is
 * both exact and small, and UTF-8 bytes / 4 is the usual rule of thumb. Either way the record is
 * marked `estimated`. Work is bounded: at most `TOKENIZE_CHARS` characters are tokenized and the
 * rest is scaled from them; at most `KEEP_CHARS` of a stream's frames are kept to count from.
 */
const TOKENIZE_CHARS = 64 * 1024;
const KEEP_CHARS = 256 * 1024;
const OPENAI_FAMILY = /^(?:ft:)?(?:gpt-|chatgpt|o\d|text-embedding-|davinci|babbage)/i;

/** Keys of a request body whose strings are not prompt text. */
const NOT_TEXT = new Set([
  "model",
  "role",
  "type",
  "id",
  "tool_call_id",
  "user",
  "url",
  "image_url",
  "encoding_format",
  "service_tier",
  "reasoning_effort",
  "previous_response_id",
  "media_type",
  "data",
]);

/** Keys of a streamed event whose strings are answer text (both dialects, Responses deltas included). */
const ANSWER_TEXT = new Set([
  "content",
  "text",
  "delta",
  "arguments",
  "partial_json",
  "thinking",
  "refusal",
  "reasoning_content",
]);

/** The frames a stream sent, kept (up to a bound) so that an unreported stream can be counted. */
export class StreamTally {
  private readonly kept: string[] = [];
  private keptChars = 0;
  /** Characters of every frame sent, kept or not. */
  sentChars = 0;

  add(frame: string): void {
    this.sentChars += frame.length;
    if (this.keptChars < KEEP_CHARS) {
      this.kept.push(frame);
      this.keptChars += frame.length;
    }
  }

  /** The answer text in the kept frames, and how much of the stream those frames were. */
  answerText(): { text: string; fraction: number } {
    const parts: string[] = [];
    for (const frame of this.kept) {
      for (const line of frame.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const event = parseJson(line.slice(5).trim());
        if (event !== undefined && !isSummaryEvent(event)) collect(event, ANSWER_TEXT, parts, "pick");
      }
    }
    return { text: parts.join(""), fraction: this.sentChars === 0 ? 1 : this.keptChars / this.sentChars };
  }
}

/** Counts for a call the provider did not report: the prompt from the request body, the answer from what was streamed. */
export async function estimateUsage(
  model: string,
  body: unknown,
  tally: StreamTally | undefined,
): Promise<Usage> {
  const count = OPENAI_FAMILY.test(model) ? await o200k() : quarterBytes;
  const prompt: string[] = [];
  collect(body, NOT_TEXT, prompt, "skip");
  const promptTokens = countText(count, prompt.join("\n"), 1);
  const answer = tally?.answerText();
  const completionTokens = answer ? countText(count, answer.text, answer.fraction) : 0;
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
}

type Count = (text: string) => number;

const quarterBytes: Count = (text) => Math.ceil(Buffer.byteLength(text) / 4);

let loaded: Promise<Count> | undefined;

/** The o200k_base BPE (tens of MB once loaded), imported the first time an estimate needs it. */
function o200k(): Promise<Count> {
  loaded ??= import("gpt-tokenizer/encoding/o200k_base").then(({ countTokens }) => {
    // Caller text may contain `<|endoftext|>`: counted as text, never refused.
    const options = { disallowedSpecial: new Set<string>() };
    return (text: string) => countTokens(text, options);
  });
  return loaded;
}

/** Tokens in `text`, which is `fraction` of the whole. */
function countText(count: Count, text: string, fraction: number): number {
  if (text.length === 0) return 0;
  const sample = text.length > TOKENIZE_CHARS ? text.slice(0, TOKENIZE_CHARS) : text;
  const tokens = count(sample);
  return Math.ceil((tokens * (text.length / sample.length)) / (fraction > 0 ? fraction : 1));
}

/** Responses events that repeat text already streamed as deltas (`….done`, `response.completed`). */
function isSummaryEvent(event: unknown): boolean {
  if (typeof event !== "object" || event === null) return false;
  const type = (event as { type?: unknown }).type;
  return typeof type === "string" && type.startsWith("response.") && !type.endsWith(".delta");
}

/**
 * Strings under `value`: with "skip", every string not under a key of `keys` (and no data URL);
 * with "pick", only strings directly under a key of `keys`.
 */
function collect(
  value: unknown,
  keys: ReadonlySet<string>,
  out: string[],
  mode: "skip" | "pick",
  key = "",
): void {
  if (typeof value === "string") {
    const wanted = mode === "skip" ? !keys.has(key) && !value.startsWith("data:") : keys.has(key);
    if (wanted) out.push(value);
    return;
  }
  if (typeof value !== "object" || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) collect(item, keys, out, mode, key);
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (mode === "skip" && keys.has(k)) continue;
    collect(v, keys, out, mode, k);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
