import { decodeInvokeRequest, FrameWriter, type RawRoute, withActiveSpan } from "@gatehouse/bus";
import {
  GatehouseError,
  INVOKE_ACTION,
  InvokeMeta,
  STREAM_CREDIT_WINDOW_BYTES,
  type Usage,
} from "@gatehouse/contracts";
import { databaseUnavailable } from "@gatehouse/db";
import type { GatehouseMetrics, Logger } from "@gatehouse/kit";
import { type InvokeResult, NOT_CANCELLABLE } from "@gatehouse/providers";
import type { NatsConnection, ServiceMsg } from "nats";
import { observeUsage } from "../metrics/observe.js";
import { type ResponsesDeps, ResponsesSession } from "../responses/session.js";
import {
  boundedRead,
  READ_WAIT_MS,
  type RouteCall,
  type RoutedCall,
  type RouteRunner,
  runRoute,
} from "../routes/runner.js";
import type { ProviderClients } from "./clients.js";
import { type CallControl, CallControls } from "./controls.js";
import { costUsd, type ModelPrice, tidyUsage } from "./cost.js";
import { StreamTally } from "./estimate.js";
import { recordUsage } from "./record.js";
import {
  endInvokeSpan,
  observeFrames,
  recordAnswer,
  recordProvider,
  recordTarget,
  recordTriedLast,
  startInvokeSpan,
} from "./tracing.js";
import type { UsagePublisher } from "./usage.js";

const decoder = new TextDecoder();

export interface InvokeDeps {
  nc: NatsConnection;
  prefix: string;
  logger: Logger;
  clients: ProviderClients;
  routing: RouteRunner;
  usage: UsagePublisher;
  metrics: GatehouseMetrics;
  responses: ResponsesDeps;
  /** Largest non-streaming answer sent on (MAX_RESPONSE_BYTES). */
  maxResponseBytes: number;
  /** How long a stream waits for ingress's acknowledgement before it is cancelled. */
  streamCreditTimeoutMs: number;
}

/**
 * `dispatch.invoke`: the caller's body arrives byte for byte behind ingress's decision (see
 * contracts/invoke.ts). The account named there is the only target — nothing in the body can change it.
 */
export function invokeRoute(deps: InvokeDeps): RawRoute {
  const controls = new CallControls(deps.nc, deps.prefix);
  return {
    raw: true,
    service: "dispatch",
    action: INVOKE_ACTION,
    handler: (msg) => {
      handleInvoke(deps, controls, msg).catch((err: unknown) => deps.logger.error({ err }, "invoke failed"));
    },
  };
}

function parseMeta(metaJson: string): InvokeMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(metaJson);
  } catch {
    throw new GatehouseError("internal_error", "internal error", { detail: "invoke metadata is not JSON" });
  }
  const parsed = InvokeMeta.safeParse(raw);
  if (!parsed.success) {
    throw new GatehouseError("internal_error", "internal error", {
      detail: "invoke metadata failed its schema",
    });
  }
  return parsed.data;
}

function parseBody(data: Uint8Array): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(decoder.decode(data));
  } catch {
    throw new GatehouseError("invalid_request", "request body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new GatehouseError("invalid_request", "request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

/** The JSON answer, refused when it is larger than the gateway relays (checked without a second pass when it can be). */
function answerText(text: string, maxBytes: number): string {
  if (text.length > maxBytes || (text.length * 3 > maxBytes && Buffer.byteLength(text) > maxBytes)) {
    throw new GatehouseError(
      "response_too_large",
      "the provider's answer is larger than this gateway relays",
      {
        detail: `answer over ${maxBytes} bytes`,
      },
    );
  }
  return text;
}

/**
 * An upstream event larger than this goes out in slices of it, each within the credit window: sent
 * whole, one large event (an image in a Responses stream) outran the window by megabytes, and ingress,
 * which holds at most a window and two frames unread for a stream, ended it when its client was slow.
 */
const SLICE_BYTES = STREAM_CREDIT_WINDOW_BYTES / 2;

async function sendInSlices(
  writer: FrameWriter,
  control: CallControl | undefined,
  frame: string,
  timeoutMs: number,
): Promise<void> {
  const bytes = Buffer.from(frame);
  for (let at = 0; at < bytes.byteLength; at += SLICE_BYTES) {
    if (writer.failed || control?.signal.aborted) return;
    writer.chunk(bytes.subarray(at, at + SLICE_BYTES));
    const wait = control?.waitForCredit(writer.chunkBytes, timeoutMs);
    if (wait) await wait;
  }
}

/** A frame that could not be published ended the call; what it is recorded as. */
function deliveryFailed(writer: FrameWriter): GatehouseError {
  return new GatehouseError("internal_error", "the answer could not be delivered", {
    cause: writer.failureCause,
  });
}

async function handleInvoke(deps: InvokeDeps, controls: CallControls, msg: ServiceMsg): Promise<void> {
  if (!msg.reply) return;
  const started = performance.now();
  const writer = new FrameWriter(deps.nc, msg.reply);
  let meta: InvokeMeta | undefined;
  // The target: the one ingress authorized, or the one of the route's that answered (or was tried last).
  let account = "";
  let model = "";
  let routed: RoutedCall | undefined;
  let status = 200;
  let usage: Usage | null = null;
  // The caller's disconnect (or a stream's unread client) reaches us through its token.
  let control: CallControl | undefined;
  let span: ReturnType<typeof startInvokeSpan> | undefined;
  let failure: GatehouseError | undefined;
  // For the usage record: when the answer began, whether the provider was called, at what price.
  let firstByteAt: number | undefined;
  let reachedProvider = false;
  let price: ModelPrice | undefined;
  let body: Record<string, unknown> | undefined;
  let tally: StreamTally | undefined;
  // For the metrics: whether the target account exists here, the error's code.
  let configured = false;
  let errorCode: GatehouseError["code"] | undefined;
  // A stop waits for this call's record (released once it is added, or its estimate began).
  deps.usage.hold();
  try {
    const request = decodeInvokeRequest(msg.data);
    meta = parseMeta(request.metaJson);
    account = meta.account ?? "";
    model = meta.model ?? "";
    span = startInvokeSpan(meta);
    const invokeSpan = span;
    body = parseBody(request.body);
    if (meta.cancel) control = controls.register(meta.cancel);
    const signal = control?.signal.asAbortSignal() ?? NOT_CANCELLABLE;
    signal.throwIfAborted();
    let result: InvokeResult;
    let session: ResponsesSession | undefined;
    if (meta.route !== undefined) {
      reachedProvider = true;
      const route = meta.route;
      const callMeta = meta;
      const callBody = body;
      // Active while the first target is called, so its HTTP client span is this span's child.
      const started = withActiveSpan(invokeSpan, () =>
        runRoute(deps.routing, route, callMeta, callBody, signal, (a, m) => {
          account = a;
          model = m;
        }),
      );
      const call = started instanceof Promise ? await started : started;
      // RouteRunner.invoke's steps, awaited here: no promise of the runner's waits with the target.
      let answered: RouteCall | Promise<RouteCall>;
      try {
        answered = call.answered(await call.pending);
      } catch (err) {
        answered = call.fallback(err);
      }
      routed = answered instanceof Promise ? await answered : answered;
      // Who answered goes to ingress before any of the answer (the result frame, or a stream's first).
      writer.target(routed.targetId);
      result = routed.result;
      configured = true;
      // The account as the runner loaded it for the call: no second lookup on the hot path.
      price = routed.loaded.prices.get(model);
      recordTarget(invokeSpan, account, model, routed.loaded.account.type);
    } else {
      const target =
        deps.clients.peek(account) ?? (await boundedRead(deps.clients.get(account), READ_WAIT_MS));
      if (!target)
        throw new GatehouseError("model_not_found", `provider account '${account}' does not exist`);
      configured = true;
      if (!target.loaded.enabled) {
        throw new GatehouseError("permission_denied", `provider account '${account}' is disabled`);
      }
      recordProvider(invokeSpan, target.loaded.account.type, meta);
      price = target.loaded.prices.get(model);
      session =
        meta.operation === "responses"
          ? await ResponsesSession.begin(deps.responses, { ...meta, account, model }, body, target.client)
          : undefined;
      reachedProvider = true;
      const input = {
        operation: meta.operation,
        dialect: meta.dialect,
        model,
        body,
        stream: meta.stream,
        ...(session?.state ? { responses: session.state } : {}),
      };
      // Active while the upstream request is made, so its HTTP client span is this span's child.
      result = await withActiveSpan(invokeSpan, () => target.client.invoke(input, signal));
    }
    recordAnswer(invokeSpan, result);
    if (result.kind === "json") {
      const text = answerText(result.bodyJson ?? JSON.stringify(result.body), deps.maxResponseBytes);
      usage = tidyUsage(result.usage);
      await session?.finish(result);
      signal.throwIfAborted();
      status = result.status;
      firstByteAt = performance.now();
      await writer.result(result.status, text, withCost(usage, price));
      if (writer.failed) throw deliveryFailed(writer);
      return;
    }
    tally = new StreamTally();
    for await (const frame of observeFrames(span, result.frames)) {
      if (signal.aborted || writer.failed) break;
      firstByteAt ??= performance.now();
      tally.add(frame);
      const recording = session?.seen(result);
      if (recording) await recording;
      // Flow control: nothing more is read from the upstream until ingress's client has caught up.
      if (frame.length <= SLICE_BYTES) {
        writer.chunk(frame);
        const wait = control?.waitForCredit(writer.chunkBytes, deps.streamCreditTimeoutMs);
        if (wait) await wait;
      } else await sendInSlices(writer, control, frame, deps.streamCreditTimeoutMs);
    }
    usage = tidyUsage(result.usage());
    signal.throwIfAborted();
    if (writer.failed) throw deliveryFailed(writer);
    if (session) await session.finish(result);
    writer.end(withCost(usage, price));
  } catch (err) {
    const reason = control?.signal.aborted ? control.signal.reason : undefined;
    const error =
      reason instanceof GatehouseError
        ? reason
        : err instanceof GatehouseError
          ? err
          : // Reading a plan or an account when the database is out: retryable (503), not a bug.
            (databaseUnavailable(err) ??
            new GatehouseError("internal_error", "internal error", { cause: err }));
    status = error.status;
    errorCode = error.code;
    if (error.status >= 500)
      deps.logger[error.spec.level](
        { code: error.code, detail: error.detail, err: error.cause },
        "invoke failed",
      );
    failure = error;
    writer.error(error);
    if (meta?.route !== undefined && routed === undefined && account !== "") {
      if (span) recordTriedLast(span, account, model);
      // Left (or failed) before any target answered: the record, priced and counted (metrics) as the
      // target tried last.
      const tried = await deps.clients.get(account).catch(() => undefined);
      configured = tried !== undefined;
      price = tried?.loaded.prices.get(model);
    }
    routed?.finish(error);
    routed = undefined;
  } finally {
    routed?.finish();
    const cancelled = control?.signal.aborted ?? false;
    control?.release();
    if (span) endInvokeSpan(span, status, usage, failure);
    try {
      if (meta) {
        recordUsage(deps.usage, meta, {
          account,
          model,
          status,
          usage,
          started,
          firstByteAt,
          reachedProvider,
          cancelled,
          price,
          body,
          tally,
          observe: (record) => observeUsage(deps.metrics, record, { configured, errorCode }),
        });
      }
    } finally {
      deps.usage.release();
    }
  }
}

/** The answer's usage as ingress gets it: with its cost at the model's prices (for the access line). */
function withCost(usage: Usage | null, price: ModelPrice | undefined): Usage | null {
  if (!usage) return null;
  const cost = costUsd(usage, price);
  return cost === null ? usage : { ...usage, costUsd: cost };
}
