/** What the next request to a mock upstream gets. Whether it streams is decided by the request itself. */
export type Behaviour =
  /**
   * A normal answer: `text` (default "Hello from the mock upstream."), streamed in `chunks` pieces
   * `chunkDelayMs` apart; a non-streaming one is sent after `delayMs` (a slow call).
   */
  | { kind: "answer"; text?: string; chunks?: number; chunkDelayMs?: number; delayMs?: number }
  /** The model calls a tool; streamed as the provider streams tool calls (argument JSON in pieces). */
  | { kind: "toolCall"; name: string; arguments?: Record<string, unknown>; chunkDelayMs?: number }
  /** An HTTP error; `body` defaults to the provider's own error JSON for that status. */
  | { kind: "httpError"; status: number; body?: unknown; retryAfter?: string; message?: string }
  /** 200, a few frames, then the provider's in-stream error (Anthropic `event: error`, OpenAI/Gemini `{"error":...}`). */
  | { kind: "errorMidStream"; afterFrames?: number; errorType?: string; message?: string }
  /** Accepts the request and never sends headers. */
  | { kind: "hangBeforeHeaders" }
  /** Sends headers and `afterFrames` frames, then nothing, forever. */
  | { kind: "hangMidStream"; afterFrames?: number }
  /** 200 with a body that is not JSON (or SSE data that is not JSON). */
  | { kind: "malformed" };

export interface RecordedRequest {
  method: string;
  /** Path with query. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
}

export const DEFAULT_TEXT = "Hello from the mock upstream.";

/** What every wire format renders: the same plan, the provider's own shapes. */
export type AnswerPlan =
  | { kind: "text"; pieces: string[]; promptTokens: number; completionTokens: number }
  | {
      kind: "tool";
      id: string;
      name: string;
      argumentPieces: string[];
      arguments: Record<string, unknown>;
      promptTokens: number;
      completionTokens: number;
    };

export function splitText(text: string, chunks: number): string[] {
  const n = Math.max(1, Math.min(chunks, text.length || 1));
  const size = Math.ceil(text.length / n);
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces.length > 0 ? pieces : [""];
}

export function countTokens(value: unknown): number {
  const text = typeof value === "string" ? value : JSON.stringify(value ?? "");
  return Math.max(1, text.split(/\s+/).filter(Boolean).length);
}

export function planAnswer(behaviour: Behaviour, promptSource: unknown, seq: number): AnswerPlan {
  const promptTokens = countTokens(promptSource);
  if (behaviour.kind === "toolCall") {
    const args = behaviour.arguments ?? {};
    const json = JSON.stringify(args);
    return {
      kind: "tool",
      id: `call_mock_${seq}`,
      name: behaviour.name,
      arguments: args,
      argumentPieces: splitText(json, 3),
      promptTokens,
      completionTokens: countTokens(json),
    };
  }
  const chunks = behaviour.kind === "answer" ? (behaviour.chunks ?? 3) : 3;
  const text =
    behaviour.kind === "answer" && behaviour.text !== undefined
      ? behaviour.text
      : behaviour.kind === "answer" && behaviour.chunks !== undefined
        ? Array.from({ length: behaviour.chunks }, (_, i) => `tok${i} `).join("")
        : DEFAULT_TEXT;
  const pieces =
    behaviour.kind === "answer" && behaviour.chunks !== undefined && behaviour.text === undefined
      ? Array.from({ length: behaviour.chunks }, (_, i) => `tok${i} `)
      : splitText(text, chunks);
  return { kind: "text", pieces, promptTokens, completionTokens: countTokens(text) };
}
