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
// 16 KiB tokenizes in ~3 ms; 64 KiB took ~45 ms, on the event loop every other call shares.
const TOKENIZE_CHARS = 16 * 1024;
const KEEP_CHARS = 64 * 1024;
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
  answerText(): Text {
    const text = new Text();
    for (const frame of this.kept) {
      for (const line of frame.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const event = parseJson(line.slice(5).trim());
        if (event !== undefined && !isSummaryEvent(event)) collect(event, ANSWER_TEXT, text, "pick");
      }
    }
    // The frames not kept are counted at the rate of those that were.
    text.scale = this.keptChars === 0 ? 1 : this.sentChars / this.keptChars;
    return text;
  }
}

/** Text to count: its first `TOKENIZE_CHARS` characters kept, the length of the rest only. */
class Text {
  private readonly parts: string[] = [];
  private kept = 0;
  length = 0;
  /** How many times larger the whole is than what this text was taken from. */
  scale = 1;

  add(part: string): void {
    this.length += part.length;
    if (this.kept >= TOKENIZE_CHARS) return;
    const piece = part.length > TOKENIZE_CHARS - this.kept ? part.slice(0, TOKENIZE_CHARS - this.kept) : part;
    this.parts.push(piece);
    this.kept += piece.length;
  }

  /** Tokens in the whole, from those in the kept sample. */
  count(count: Count): number {
    if (this.length === 0 || this.kept === 0) return 0;
    const tokens = count(this.parts.join(""));
    return Math.ceil(tokens * (this.length / this.kept) * this.scale);
  }
}

/** Counts for a call the provider did not report: the prompt from the request body, the answer from what was streamed. */
export async function estimateUsage(
  model: string,
  body: unknown,
  tally: StreamTally | undefined,
): Promise<Usage> {
  const count = OPENAI_FAMILY.test(model) ? await o200k() : quarterBytes;
  const prompt = new Text();
  collect(body, NOT_TEXT, prompt, "skip");
  const promptTokens = prompt.count(count);
  const completionTokens = tally ? tally.answerText().count(count) : 0;
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
  out: Text,
  mode: "skip" | "pick",
  key = "",
): void {
  if (typeof value === "string") {
    const wanted = mode === "skip" ? !keys.has(key) && !value.startsWith("data:") : keys.has(key);
    if (wanted) out.add(value);
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
