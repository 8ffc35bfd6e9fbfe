import { decodeInvokeRequest, FrameWriter, type RawRoute, startSpanFromCarrier } from "@gatehouse/bus";
import {
  GatehouseError,
  INVOKE_ACTION,
  InvokeMeta,
  invokeCancelSubject,
  type Usage,
  type UsageRecord,
} from "@gatehouse/contracts";
import type { Logger } from "@gatehouse/kit";
import { type InvokeResult, NOT_CANCELLABLE } from "@gatehouse/providers";
import type { NatsConnection, ServiceMsg } from "nats";
import { type ResponsesDeps, ResponsesSession } from "../responses/session.js";
import type { ProviderClients } from "./clients.js";
import type { UsagePublisher } from "./usage.js";

const decoder = new TextDecoder();

export interface InvokeDeps {
  nc: NatsConnection;
  prefix: string;
  logger: Logger;
  clients: ProviderClients;
  usage: UsagePublisher;
  responses: ResponsesDeps;
}

/** How long a cancel for a stream this instance has not (yet) seen is remembered, and how many. */
const EARLY_CANCEL_TTL_MS = 60_000;
const MAX_EARLY_CANCELS = 10_000;

/**
 * Cancelling streams: ingress picks each stream's token and publishes to its cancel subject when the
 * caller goes away; every dispatch instance listens on one wildcard subscription and aborts the
 * stream it holds under that token. A cancel can overtake its own request (the caller left at once,
 * or this instance is slow to pick the request up): tokens it does not hold are remembered for a
 * minute, and a stream registered under one is aborted before its upstream call is made.
 */
export class CancelRegistry {
  private readonly live = new Map<string, AbortController>();
  private readonly early = new Map<string, number>();

  constructor(nc: NatsConnection, prefix: string) {
    const base = invokeCancelSubject(prefix, "");
    // Lives as long as the connection: the service stops by draining it.
    nc.subscribe(`${base}*`, {
      callback: (err, msg) => {
        if (!err) this.cancel(msg.subject.slice(base.length));
      },
    });
  }

  /** Aborts `abort` when the token's cancel arrives (or already arrived), until `release()`. */
  register(token: string, abort: AbortController): () => void {
    const expires = this.early.get(token);
    if (expires !== undefined) {
      this.early.delete(token);
      if (expires > Date.now()) abort.abort();
    }
    if (!abort.signal.aborted) this.live.set(token, abort);
    return () => this.live.delete(token);
  }

  private cancel(token: string): void {
    const abort = this.live.get(token);
    if (abort) {
      abort.abort();
      return;
    }
    // Oldest first (one TTL for all): drop what expired, and the oldest beyond the bound.
    const now = Date.now();
    for (const [t, expires] of this.early) {
      if (expires > now && this.early.size < MAX_EARLY_CANCELS) break;
      this.early.delete(t);
    }
    this.early.set(token, now + EARLY_CANCEL_TTL_MS);
  }
}

/**
 * `dispatch.invoke`: the caller's body arrives byte for byte behind ingress's decision (see
 * contracts/invoke.ts). The account named there is the only target — nothing in the body can change it.
 */
export function invokeRoute(deps: InvokeDeps): RawRoute {
  const cancels = new CancelRegistry(deps.nc, deps.prefix);
  return {
    raw: true,
    service: "dispatch",
    action: INVOKE_ACTION,
    handler: (msg) => {
      handleInvoke(deps, cancels, msg).catch((err: unknown) => deps.logger.error({ err }, "invoke failed"));
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

async function handleInvoke(deps: InvokeDeps, cancels: CancelRegistry, msg: ServiceMsg): Promise<void> {
  if (!msg.reply) return;
  const started = performance.now();
  const writer = new FrameWriter(deps.nc, msg.reply);
  let meta: InvokeMeta | undefined;
  let status = 200;
  let usage: Usage | null = null;
  // Only a stream can be cancelled by its caller (see the cancel subject below).
  let abort: AbortController | undefined;
  let release: (() => void) | undefined;
  let span: ReturnType<typeof startSpanFromCarrier> | undefined;
  try {
    const request = decodeInvokeRequest(msg.data);
    meta = parseMeta(request.metaJson);
    span = startSpanFromCarrier("dispatch.invoke", meta.trace, {
      "gatehouse.account": meta.account,
      "gatehouse.model": meta.model,
      "gatehouse.stream": meta.stream,
    });
    const body = parseBody(request.body);
    const target = await deps.clients.get(meta.account);
    if (!target)
      throw new GatehouseError("model_not_found", `provider account '${meta.account}' does not exist`);
    if (!target.loaded.enabled) {
      throw new GatehouseError("permission_denied", `provider account '${meta.account}' is disabled`);
    }
    if (meta.stream) {
      // The caller's disconnect reaches us through its cancel token; the upstream call is aborted.
      abort = new AbortController();
      if (meta.cancel) release = cancels.register(meta.cancel, abort);
      if (abort.signal.aborted) throw new GatehouseError("invalid_request", "the client went away");
    }
    const session =
      meta.operation === "responses"
        ? await ResponsesSession.begin(deps.responses, meta, body, target.client)
        : undefined;
    const result: InvokeResult = await target.client.invoke(
      {
        operation: meta.operation,
        dialect: meta.dialect,
        model: meta.model,
        body,
        stream: meta.stream,
        ...(session?.state ? { responses: session.state } : {}),
      },
      abort?.signal ?? NOT_CANCELLABLE,
    );
    if (result.kind === "json") {
      status = result.status;
      usage = result.usage;
      await session?.finish(result);
      writer.result(result.status, result.bodyJson ?? JSON.stringify(result.body), result.usage);
      return;
    }
    for await (const frame of result.frames) {
      if (abort?.signal.aborted) break;
      const recording = session?.seen(result);
      if (recording) await recording;
      writer.chunk(frame);
    }
    usage = result.usage();
    if (session && !abort?.signal.aborted) await session.finish(result);
    if (abort?.signal.aborted) {
      status = 499;
      writer.error(new GatehouseError("invalid_request", "the client went away"));
    } else {
      writer.end(usage);
    }
  } catch (err) {
    const error =
      err instanceof GatehouseError
        ? err
        : abort?.signal.aborted
          ? new GatehouseError("invalid_request", "the client went away")
          : new GatehouseError("internal_error", "internal error", { cause: err });
    status = abort?.signal.aborted ? 499 : error.status;
    if (error.status >= 500)
      deps.logger[error.spec.level](
        { code: error.code, detail: error.detail, err: error.cause },
        "invoke failed",
      );
    span?.setAttribute("gatehouse.error_code", error.code);
    writer.error(error);
  } finally {
    release?.();
    span?.setAttribute("http.response.status_code", status);
    span?.end();
    if (meta) {
      const record: UsageRecord = {
        requestId: meta.requestId,
        at: new Date().toISOString(),
        account: meta.account,
        model: meta.model,
        operation: meta.operation,
        principal: meta.principal,
        keyId: meta.keyId,
        status,
        stream: meta.stream,
        usage,
        durationMs: Math.round(performance.now() - started),
      };
      deps.usage.add(record);
    }
  }
}
