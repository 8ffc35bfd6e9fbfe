import type { Dialect, Operation, ProviderType, Usage } from "@gatehouse/contracts";
import type { EgressPolicy } from "@gatehouse/egress";
import type { OpenAIChatChunk, OpenAIChatRequest, OpenAIChatResponse } from "./openai-compatible/wire.js";
import type { ResponsesInputItem } from "./openai-responses/wire.js";

/**
 * The vocabulary lives in contracts: the operation and dialect travel in ingress's invoke envelope,
 * usage in the usage records, and the catalog of provider types is what dispatch stores (the
 * registry must cover every one).
 */
export type { Dialect, Operation, ProviderType, Usage } from "@gatehouse/contracts";

/** A decrypted provider account as dispatch loads it. */
export interface ProviderAccount {
  /** e.g. "openai-main"; appears in public error messages, so never a secret. */
  name: string;
  type: ProviderType;
  baseUrl: string | null;
  credentials: Record<string, string>;
  options: Record<string, unknown>;
}

export interface InvokeInput {
  operation: Operation;
  dialect: Dialect;
  /** The model part of `<account>/<model>`; it wins over any `model` in the body. */
  model: string;
  body: Record<string, unknown>;
  stream: boolean;
  /** Responses on a translated account: stored state the caller resolved (see `responsesReferences`). */
  responses?: ResponsesState;
}

/** What a translated Responses call builds on, resolved by whoever keeps stored responses. */
export interface ResponsesState {
  /** The conversation `previous_response_id` continues: its items and answers, oldest first. */
  history: readonly ResponsesInputItem[];
  /** `item_reference` targets by id. */
  items: ReadonlyMap<string, ResponsesInputItem>;
  /** Whether the answer will be kept (shown as the Response object's `store`). */
  store: boolean;
}

/** What a Responses call produced, for recording its owner and (translated) keeping it. */
export interface ResponsesTrace {
  /** The provider keeps this response itself (its id is the provider's). */
  native: boolean;
  /** The response id; for a native stream, known once its first event was read. */
  id(): string | undefined;
  /** Ids of the output items, once the answer is complete. */
  itemIds(): string[];
  /** Translated only, once complete: this request's input items (with ids) and the Response object. */
  record(): { input: ResponsesInputItem[]; response: Record<string, unknown> } | undefined;
}

export type InvokeResult =
  | {
      kind: "json";
      status: number;
      body: unknown;
      /** `JSON.stringify(body)`, when the adapter could write it more cheaply itself. */
      bodyJson?: string;
      usage: Usage | null;
      responses?: ResponsesTrace;
    }
  | {
      kind: "stream";
      /** Complete SSE frames in the caller's dialect. Throws a GatehouseError if the upstream fails mid-stream. */
      frames: AsyncIterable<string>;
      /** Known once `frames` is exhausted; null before, or if the upstream never said. */
      usage(): Usage | null;
      responses?: ResponsesTrace;
    };

/** Reading and managing a stored response on an account whose provider keeps them. */
export type ResponsesAction = "get" | "delete" | "input_items" | "cancel";

export interface ProviderClient {
  invoke(input: InvokeInput, signal: AbortSignal): Promise<InvokeResult>;
  /** Whether this account's provider speaks the Responses API itself (and keeps responses). */
  readonly responsesNative: boolean;
  /** GET/DELETE/input_items/cancel on a response the provider keeps; only when `responsesNative`. */
  responsesAction: ResponsesNativeCapability["responsesAction"];
  /** Closes pooled connections. */
  close(): Promise<void>;
}

export interface ClientOptions {
  /** Where connections may go; checked on the resolved address of every connection. */
  egress: EgressPolicy;
  connectTimeoutMs: number;
  /** Time from sending the request to the response headers. */
  firstByteTimeoutMs: number;
  /** Longest gap between two body chunks. */
  idleTimeoutMs: number;
  /** Retries before any byte reaches the caller, for connect errors, 429 and 5xx only. Capped at 2. */
  maxRetries: number;
  /** How long `close()` lets in-flight requests finish before cutting them. Default 30 s. */
  closeGraceMs?: number;
  /** Base of the exponential backoff (jittered). Default 200 ms. */
  retryBaseDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the 429 goes back to the caller. Default 10 s. */
  maxRetryWaitMs?: number;
  /** A non-streaming answer larger than this is refused (`response_too_large`). Default 64 MiB. */
  maxResponseBytes?: number;
  /** Hears each retry the transport makes (metrics). */
  onRetry?: (reason: "connect" | "status_429" | "status_5xx") => void;
}

// ---------------------------------------------------------------------------------------------
// The adapter interface. Every adapter speaks OpenAI chat on its inside edge (the lingua franca);
// dialect translation happens once, in client.ts, not in each adapter.

export type AdapterResult<TBody, TChunk> =
  | { kind: "json"; status: number; body: TBody; usage: Usage | null }
  | { kind: "stream"; chunks: AsyncIterable<TChunk>; usage(): Usage | null };

export type ChatResult = AdapterResult<OpenAIChatResponse, OpenAIChatChunk>;

/** Every adapter can chat. For stream requests the adapter must end with a usage chunk (`choices: []`) when it knows usage. */
export interface ChatAdapter {
  chat(request: OpenAIChatRequest, signal: AbortSignal): Promise<ChatResult>;
  close(): Promise<void>;
}

/** OpenAI-shaped embeddings request in, OpenAI-shaped embeddings response out. */
export interface EmbeddingsCapability {
  embeddings(request: Record<string, unknown>, signal: AbortSignal): Promise<AdapterResult<unknown, never>>;
}

/** Legacy text completions, OpenAI-shaped; stream chunks are `text_completion` objects. */
export interface CompletionsCapability {
  completions(
    request: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<AdapterResult<unknown, Record<string, unknown>>>;
}

/** Adapters whose upstream speaks the Anthropic Messages API natively skip the dialect translation. */
export interface AnthropicNativeCapability {
  anthropicMessages(request: Record<string, unknown>, signal: AbortSignal): Promise<InvokeResult>;
}

/** Adapters whose upstream speaks the Responses API natively: bodies pass through, responses stay there. */
export interface ResponsesNativeCapability {
  responses(request: Record<string, unknown>, signal: AbortSignal): Promise<InvokeResult>;
  responsesAction(
    action: ResponsesAction,
    id: string,
    query: Record<string, string>,
    signal: AbortSignal,
  ): Promise<{ status: number; body: unknown }>;
}

export type ProviderAdapter = ChatAdapter &
  Partial<EmbeddingsCapability> &
  Partial<CompletionsCapability> &
  Partial<AnthropicNativeCapability> &
  Partial<ResponsesNativeCapability>;
