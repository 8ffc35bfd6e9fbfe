import { startSpanFromCarrier } from "@gatehouse/bus";
import type { GatehouseError, InvokeMeta, Operation, Usage } from "@gatehouse/contracts";
import { genAiProviderName, type InvokeResult, type ProviderType } from "@gatehouse/providers";
import { type Attributes, type Span, SpanStatusCode } from "@opentelemetry/api";

/** `gen_ai.operation.name` per operation (the OpenTelemetry GenAI conventions' well-known values). */
const GEN_AI_OPERATION: Record<Operation, string> = {
  chat: "chat",
  completions: "text_completion",
  embeddings: "embeddings",
  responses: "chat",
};

/**
 * `dispatch.invoke`: the child of ingress's server span (its context rides in `InvokeMeta.trace`),
 * carrying the GenAI attributes of the call. With tracing off this is a non-recording span and the
 * other functions here return at their first line.
 */
export function startInvokeSpan(meta: InvokeMeta): Span {
  const span = startSpanFromCarrier("dispatch.invoke", meta.trace);
  // Set once sampled, not given at the start: a call left out of the sample makes no attributes. A
  // routed call names its route; its account and model are the target's (`recordTarget`). The
  // request id and the principal are on ingress's server span, this span's parent in the same
  // trace: not repeated here.
  if (span.isRecording()) span.setAttributes(invokeAttributes(meta));
  return span;
}

/**
 * `dispatch.invoke`'s first attributes by route, model, account, operation and stream: one frozen
 * object per combination (few: the accounts' models and routes), which Gatehouse's tracer keeps by
 * reference instead of copying into every span that waits for its upstream. Looked up through maps
 * by each part as it is (no key string built per call).
 */
type ByPart<T> = Map<string | undefined, T>;
const invokeAttributeSets: ByPart<ByPart<ByPart<(Readonly<Attributes> | undefined)[]>>> = new Map();
let invokeAttributeSetCount = 0;
/** Combinations kept at most (past it the maps start over: bounded whatever callers send). */
const MAX_INVOKE_ATTRIBUTE_SETS = 1024;
/** A combination's place among one account's: operation by operation, not streamed then streamed. */
const OPERATION_INDEX: Record<Operation, number> = { chat: 0, completions: 1, embeddings: 2, responses: 3 };

function part<T>(map: ByPart<T>, key: string | undefined, make: () => T): T {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

export function invokeAttributes(meta: InvokeMeta): Readonly<Attributes> {
  const byModel = part(invokeAttributeSets, meta.route, () => new Map());
  const byAccount = part(byModel, meta.model, () => new Map());
  const sets: (Readonly<Attributes> | undefined)[] = part(byAccount, meta.account, () => []);
  const index = 2 * OPERATION_INDEX[meta.operation] + (meta.stream ? 1 : 0);
  const known = sets[index];
  if (known !== undefined) return known;
  const made: Attributes = {
    "gen_ai.operation.name": GEN_AI_OPERATION[meta.operation],
    "gatehouse.stream": meta.stream,
  };
  if (meta.route !== undefined) made["gatehouse.route"] = meta.route;
  if (meta.model !== undefined) made["gen_ai.request.model"] = meta.model;
  if (meta.account !== undefined) made["gatehouse.account"] = meta.account;
  const attributes = Object.freeze(made);
  if (invokeAttributeSetCount >= MAX_INVOKE_ATTRIBUTE_SETS) {
    invokeAttributeSets.clear();
    invokeAttributeSetCount = 0;
  }
  invokeAttributeSetCount++;
  sets[index] = attributes;
  return attributes;
}

/** The route's target that answered (or was tried last): its account, model and provider. */
export function recordTarget(span: Span, account: string, model: string, type: ProviderType): void {
  if (!span.isRecording()) return;
  span.setAttribute("gatehouse.account", account);
  span.setAttribute("gen_ai.request.model", model);
  recordProvider(span, type);
}

/** A routed call none of whose targets answered: the one tried last, as its usage record names it. */
export function recordTriedLast(span: Span, account: string, model: string): void {
  if (!span.isRecording() || account === "") return;
  span.setAttribute("gatehouse.account", account);
  span.setAttribute("gen_ai.request.model", model);
}

/**
 * The provider's name. Given the call's meta (the target is the call's own account), as the span's
 * first attributes extended by it: one frozen object per combination and provider, which Gatehouse's
 * tracer puts in place of the first ones by reference, so that a call waiting for its upstream holds
 * no attribute array of its own. A routed call's target is named after its account and model
 * (`recordTarget`): one attribute more.
 */
export function recordProvider(span: Span, type: ProviderType, meta?: InvokeMeta): void {
  if (!span.isRecording()) return;
  if (meta === undefined) span.setAttribute("gen_ai.provider.name", genAiProviderName(type));
  else span.setAttributes(invokeAttributesWithProvider(meta, type));
}

/** Each set of `invokeAttributes` with a provider's name after them, by provider (few). */
const withProvider = new WeakMap<Readonly<Attributes>, Map<ProviderType, Readonly<Attributes>>>();

function invokeAttributesWithProvider(meta: InvokeMeta, type: ProviderType): Readonly<Attributes> {
  const first = invokeAttributes(meta);
  let byProvider = withProvider.get(first);
  if (byProvider === undefined) {
    byProvider = new Map();
    withProvider.set(first, byProvider);
  }
  let attributes = byProvider.get(type);
  if (attributes === undefined) {
    attributes = Object.freeze({ ...first, "gen_ai.provider.name": genAiProviderName(type) });
    byProvider.set(type, attributes);
  }
  return attributes;
}

/** Distinct finish reasons kept on a span: an answer with many choices names few reasons. */
const MAX_REASONS = 8;

/** What the answer says about itself: the model that answered and why it stopped (JSON answers). */
export function recordAnswer(span: Span, result: InvokeResult): void {
  if (!span.isRecording() || result.kind !== "json") return;
  const body = result.body as { model?: unknown; choices?: unknown; stop_reason?: unknown; status?: unknown };
  if (typeof body !== "object" || body === null) return;
  if (typeof body.model === "string") span.setAttribute("gen_ai.response.model", body.model.slice(0, 256));
  // An array searched by value, not a Set spread into one: an answer names one or a few reasons.
  const reasons: string[] = [];
  if (Array.isArray(body.choices)) {
    for (const choice of body.choices as { finish_reason?: unknown }[]) {
      if (typeof choice?.finish_reason === "string") addReason(reasons, choice.finish_reason);
      if (reasons.length >= MAX_REASONS) break;
    }
  } else if (typeof body.stop_reason === "string") addReason(reasons, body.stop_reason);
  else if (typeof body.status === "string") addReason(reasons, body.status);
  if (reasons.length > 0) span.setAttribute("gen_ai.response.finish_reasons", reasons);
}

function addReason(reasons: string[], reason: string): void {
  const kept = reason.slice(0, 64);
  if (!reasons.includes(kept)) reasons.push(kept);
}

// Stream events in either dialect name the model and the stop reason as plain JSON strings; a scan of
// each frame for them (only when the span records) avoids parsing every event a second time.
const MODEL = /"model"\s*:\s*"([^"\\]{1,256})"/;
const FINISH = /"(?:finish_reason|stop_reason)"\s*:\s*"([^"\\]{1,64})"/g;
const RESPONSE_STATUS = /"type"\s*:\s*"response\.(completed|incomplete|failed)"/;

/** A stream's frames as they go by, noting the answering model and finish reasons on the span. */
export function observeFrames(span: Span, frames: AsyncIterable<string>): AsyncIterable<string> {
  if (!span.isRecording()) return frames;
  return (async function* () {
    let model: string | undefined;
    const reasons = new Set<string>();
    try {
      for await (const frame of frames) {
        if (model === undefined) model = MODEL.exec(frame)?.[1];
        if (reasons.size < MAX_REASONS)
          for (const match of frame.matchAll(FINISH)) if (match[1] !== undefined) reasons.add(match[1]);
        const status = RESPONSE_STATUS.exec(frame)?.[1];
        if (status !== undefined) reasons.add(status);
        yield frame;
      }
    } finally {
      if (model !== undefined) span.setAttribute("gen_ai.response.model", model);
      if (reasons.size > 0) span.setAttribute("gen_ai.response.finish_reasons", [...reasons]);
    }
  })();
}

/** The call's outcome: token counts when known, its status, and an error only for 5xx. */
export function endInvokeSpan(
  span: Span,
  status: number,
  usage: Usage | null,
  error: GatehouseError | undefined,
): void {
  if (span.isRecording()) {
    if (usage) {
      span.setAttribute("gen_ai.usage.input_tokens", usage.promptTokens);
      span.setAttribute("gen_ai.usage.output_tokens", usage.completionTokens);
    }
    span.setAttribute("http.response.status_code", status);
    if (error) {
      span.setAttribute("gatehouse.error_code", error.code);
      span.setAttribute("error.type", error.code);
      if (error.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: error.code });
    }
  }
  span.end();
}
