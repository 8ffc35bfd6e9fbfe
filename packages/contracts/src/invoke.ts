import { z } from "zod";
import { PrincipalKind } from "./common.js";

/**
 * `<prefix>.v1.dispatch.invoke`: ingress → dispatch. The request's payload is the caller's JSON body,
 * byte for byte (no re-encoding at ingress); what ingress decided about it travels in the
 * `Gatehouse-Invoke` header as JSON matching `InvokeMeta`.
 *
 * Replies are frames: messages whose `Gatehouse-Frame` header says what they are.
 *  - non-streaming: one `result` frame; payload = the response body in the caller's dialect,
 *    `Gatehouse-Status` = HTTP status, `Gatehouse-Usage` = Usage JSON when known;
 *  - streaming: a `start` frame (with `Gatehouse-Cancel`: the subject that aborts the upstream
 *    call), then `chunk` frames (payload = one complete SSE frame), numbered by `Gatehouse-Seq`
 *    from 1, then exactly one `end` (payload = Usage JSON or empty) or `error` frame;
 *  - any failure before the first chunk: one `error` frame, payload = ErrorReply JSON.
 */
export const INVOKE_ACTION = "invoke";
export const INVOKE_META_HEADER = "Gatehouse-Invoke";
export const FRAME_HEADER = "Gatehouse-Frame";
export const SEQ_HEADER = "Gatehouse-Seq";
export const STATUS_HEADER = "Gatehouse-Status";
export const USAGE_HEADER = "Gatehouse-Usage";
export const CANCEL_HEADER = "Gatehouse-Cancel";

export const FrameKind = z.enum(["result", "start", "chunk", "end", "error"]);
export type FrameKind = z.infer<typeof FrameKind>;

export const Operation = z.enum(["chat", "embeddings", "completions"]);
export type Operation = z.infer<typeof Operation>;

export const Dialect = z.enum(["openai", "anthropic"]);
export type Dialect = z.infer<typeof Dialect>;

export const InvokeMeta = z.object({
  /** Provider account, as authorized at ingress. The only source of the target. */
  account: z.string().min(1).max(63),
  /** Model within the account (may contain slashes). */
  model: z.string().min(1).max(256),
  operation: Operation,
  dialect: Dialect,
  stream: z.boolean(),
  /** Whether the caller asked for the final usage chunk (`stream_options.include_usage`). */
  includeUsage: z.boolean(),
  requestId: z.string().max(128),
  principal: z.object({ id: z.uuid(), kind: PrincipalKind }),
  keyId: z.uuid(),
});
export type InvokeMeta = z.infer<typeof InvokeMeta>;

export const Usage = z.object({
  promptTokens: z.number().int().min(0),
  completionTokens: z.number().int().min(0),
  totalTokens: z.number().int().min(0),
});
export type Usage = z.infer<typeof Usage>;

/** One usage record per completed call, buffered in JetStream until dispatch stores it. */
export const UsageRecord = z.object({
  requestId: z.string(),
  at: z.string(),
  account: z.string(),
  model: z.string(),
  operation: Operation,
  principal: z.object({ id: z.uuid(), kind: PrincipalKind }),
  keyId: z.uuid(),
  status: z.number().int(),
  stream: z.boolean(),
  usage: Usage.nullable(),
  durationMs: z.number(),
});
export type UsageRecord = z.infer<typeof UsageRecord>;

export function usageStreamName(prefix: string): string {
  return `${prefix}_usage`;
}

export function usageSubject(prefix: string): string {
  return `${prefix}.v1.usage.records`;
}
