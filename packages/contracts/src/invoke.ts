import { z } from "zod";
import { PrincipalKind } from "./common.js";
import { ACCOUNT_NAME_MAX, MODEL_NAME_MAX } from "./dispatch.js";
import { RouteName } from "./routes.js";
import { subjectFor } from "./subjects.js";

/**
 * `<prefix>.v1.dispatch.invoke`: ingress → dispatch. The request's payload is a short binary
 * envelope: what ingress decided (JSON matching `InvokeMeta`) in front of the caller's JSON body,
 * byte for byte (no re-encoding at ingress). No NATS headers are used: their encoding and parsing
 * was a measurable share of the hot path. The layout is in packages/bus/src/frames.ts.
 *
 * Replies are frames published to the request's reply subject, each starting with the protocol
 * version, its kind and a sequence number, and each below the NATS server's `max_payload`:
 *  - non-streaming: `part` frames numbered from 1 carrying the response body's first bytes when it
 *    does not fit in one message, then one `result` frame (numbered next) carrying the HTTP status,
 *    the Usage JSON when known and the rest of the body in the caller's dialect;
 *  - streaming: `chunk` frames (SSE bytes in the caller's dialect, cut anywhere), numbered from 1,
 *    then exactly one `end` (Usage JSON or nothing) or `error` frame, numbered next;
 *  - any failure before the terminal frame: one `error` frame carrying ErrorReply JSON.
 * Every call carries a cancel token chosen by ingress (`InvokeMeta.cancel`), so a client that goes
 * away can stop the upstream call at any moment, even before dispatch has answered anything: ingress
 * publishes to `invokeCancelSubject(prefix, token)` (payload: the catalog code saying why, empty for
 * `client_closed`), which every dispatch instance listens to. A stream is flow-controlled: dispatch
 * sends at most `STREAM_CREDIT_WINDOW_BYTES` of chunk data beyond what ingress has acknowledged on
 * `invokeCreditSubject(prefix, token)` (payload: the decimal count of chunk bytes written to the
 * client so far), and reads nothing more from the upstream until it has.
 * A payload of another protocol version is refused by both sides, never guessed at.
 */
export const INVOKE_ACTION = "invoke";
export const INVOKE_PROTOCOL_VERSION = 4;

/**
 * Chunk bytes dispatch may send ahead of ingress's acknowledgements. Ingress acknowledges every
 * half window, so a client that reads keeps the stream flowing without a wait, and a small stream
 * (under a window) sends no acknowledgement at all.
 */
export const STREAM_CREDIT_WINDOW_BYTES = 64 * 1024;

/**
 * `target`: a routed stream's chosen `<account>/<model>`, sent once before its first chunk (a routed
 * non-streaming answer carries it in its `result` frame).
 */
export const FrameKind = z.enum(["result", "part", "chunk", "end", "error", "target"]);
export type FrameKind = z.infer<typeof FrameKind>;

/** `responses` is OpenAI's Responses API (`POST /v1/responses`); its usage records say so. */
export const Operation = z.enum(["chat", "embeddings", "completions", "responses"]);
export type Operation = z.infer<typeof Operation>;

/** The caller's API dialect: `/v1/chat/completions` & co. speak `openai`, `/v1/messages` speaks `anthropic`. */
export const Dialect = z.enum(["openai", "anthropic"]);
export type Dialect = z.infer<typeof Dialect>;

/**
 * Either `account` and `model` (a call to one account) or `route` (dispatch picks the targets from
 * the route's own definition): whatever ingress authorized is the only source of the target.
 */
export const InvokeMeta = z
  .object({
    /** Provider account, as authorized at ingress. The only source of the target. */
    account: z.string().min(1).max(ACCOUNT_NAME_MAX).optional(),
    /** Model within the account (may contain slashes). */
    model: z.string().min(1).max(MODEL_NAME_MAX).optional(),
    /** A route, as authorized at ingress; its targets come from dispatch's definition of it alone. */
    route: RouteName.optional(),
    operation: Operation,
    dialect: Dialect,
    stream: z.boolean(),
    /** Whether the caller asked for the final usage chunk (`stream_options.include_usage`). */
    includeUsage: z.boolean(),
    requestId: z.string().max(128),
    principal: z.object({ id: z.uuid(), kind: PrincipalKind }),
    keyId: z.uuid(),
    /** The call's cancel and credit token (see `invokeCancelSubject`); random, chosen by ingress. */
    cancel: z
      .string()
      .regex(/^[A-Za-z0-9_-]{16,64}$/)
      .optional(),
    /**
     * W3C trace context when tracing is on: `traceparent` and, when there is one, `tracestate`. An
     * object of these two keys (any other is dropped), not a record of any: a record's validation
     * was a measurable share of what tracing cost dispatch per call.
     */
    trace: z
      .object({ traceparent: z.string().max(512), tracestate: z.string().max(512).optional() })
      .optional(),
  })
  .refine(
    (m) =>
      m.route === undefined
        ? m.account !== undefined && m.model !== undefined
        : m.account === undefined && m.model === undefined,
    { message: "either account and model, or route" },
  );
export type InvokeMeta = z.infer<typeof InvokeMeta>;

/** Publishing here aborts the call whose `InvokeMeta.cancel` is `token`. */
export function invokeCancelSubject(prefix: string, token: string): string {
  return `${subjectFor(prefix, "dispatch", "cancel")}.${token}`;
}

/** Ingress's acknowledgements of a stream's chunk bytes (see `STREAM_CREDIT_WINDOW_BYTES`). */
export function invokeCreditSubject(prefix: string, token: string): string {
  return `${subjectFor(prefix, "dispatch", "credit")}.${token}`;
}

export const Usage = z.object({
  promptTokens: z.number().int().min(0),
  completionTokens: z.number().int().min(0),
  totalTokens: z.number().int().min(0),
  /** Prompt tokens served from the provider's cache, where it says (included in promptTokens). */
  cachedTokens: z.number().min(0).optional(),
  /** Completion tokens spent on reasoning, where it says (included in completionTokens). */
  reasoningTokens: z.number().min(0).optional(),
  /** USD at the model's prices, when it has them: set by dispatch on the answer's final frame. */
  costUsd: z.number().min(0).optional(),
});
export type Usage = z.infer<typeof Usage>;

/** One usage record per completed call, buffered in JetStream until dispatch stores it. */
export const UsageRecord = z.object({
  /**
   * The record's identity, chosen by dispatch: what makes storing it idempotent. Not the request id,
   * which a caller may choose (`x-request-id`) and so could reuse to have a second call go unrecorded.
   * Absent only on records published before it existed.
   */
  id: z.uuid().optional(),
  requestId: z.string(),
  at: z.string(),
  /** The target that answered (or, for a routed call that found none, the last one tried or ""). */
  account: z.string(),
  model: z.string(),
  /** The route the caller named, when it named one. */
  route: z.string().optional(),
  operation: Operation,
  principal: z.object({ id: z.uuid(), kind: PrincipalKind }),
  keyId: z.uuid(),
  status: z.number().int(),
  stream: z.boolean(),
  usage: Usage.nullable(),
  durationMs: z.number(),
  /**
   * USD at the model's prices when the call was made (`inputPricePerMTok`/`outputPricePerMTok`;
   * cached prompt tokens billed as input). `null` when the model has no price or no tokens are known.
   */
  costUsd: z.number().min(0).nullable().default(null),
  /** Milliseconds from dispatch receiving the call to the first byte of the answer sent on. */
  ttftMs: z.number().min(0).optional(),
  /** The token counts were counted by Gatehouse (an aborted stream), not reported by the provider. */
  estimated: z.boolean().optional(),
  /** The principal's teams, when known. */
  teamIds: z.array(z.uuid()).max(1_000).optional(),
});
export type UsageRecord = z.infer<typeof UsageRecord>;

export function usageStreamName(prefix: string): string {
  return `${prefix}_usage`;
}

export function usageSubject(prefix: string): string {
  return `${prefix}.v1.usage.records`;
}
