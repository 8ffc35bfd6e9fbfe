import { decodeInvokeRequest, FrameWriter, type RawRoute, startSpanFromCarrier } from "@gatehouse/bus";
import {
  GatehouseError,
  INVOKE_ACTION,
  InvokeMeta,
  subjectFor,
  type UsageRecord,
} from "@gatehouse/contracts";
import type { Logger } from "@gatehouse/kit";
import { type InvokeResult, NOT_CANCELLABLE, type Usage } from "@gatehouse/providers";
import { createInbox, type NatsConnection, type ServiceMsg } from "nats";
import type { ProviderClients } from "./clients.js";
import type { UsagePublisher } from "./usage.js";

const decoder = new TextDecoder();

export interface InvokeDeps {
  nc: NatsConnection;
  prefix: string;
  logger: Logger;
  clients: ProviderClients;
  usage: UsagePublisher;
}

/**
 * Cancelling streams: one wildcard subscription per dispatch instance, one token per stream, so a
 * stream costs no subscribe/unsubscribe round of its own.
 */
class CancelRegistry {
  readonly base: string;
  private readonly live = new Map<string, AbortController>();
  private counter = 0;

  constructor(nc: NatsConnection, prefix: string) {
    this.base = `${subjectFor(prefix, "dispatch", "cancel")}.${createInbox().slice("_INBOX.".length)}.`;
    nc.subscribe(`${this.base}*`, {
      callback: (err, msg) => {
        if (!err) this.live.get(msg.subject.slice(this.base.length))?.abort();
      },
    });
  }

  /** A subject that aborts `abort` when anything is published to it, until `release()`. */
  register(abort: AbortController): { subject: string; release: () => void } {
    const token = (++this.counter).toString(36);
    this.live.set(token, abort);
    return { subject: this.base + token, release: () => this.live.delete(token) };
  }
}

/**
 * `dispatch.invoke`: the caller's body arrives byte for byte behind ingress's decision (see
 * contracts/invoke.ts). The account named there is the only target — nothing in the body can change it.
 */
export function invokeRoute(deps: InvokeDeps): RawRoute {
  const inflight = new Set<Promise<void>>();
  const cancels = new CancelRegistry(deps.nc, deps.prefix);
  const route: RawRoute & { inflight: Set<Promise<void>> } = {
    raw: true,
    service: "dispatch",
    action: INVOKE_ACTION,
    inflight,
    handler: (msg) => {
      const done = handleInvoke(deps, cancels, msg).catch((err: unknown) =>
        deps.logger.error({ err }, "invoke failed"),
      );
      inflight.add(done);
      void done.finally(() => inflight.delete(done));
    },
  };
  return route;
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
  let cancel: ReturnType<CancelRegistry["register"]> | undefined;
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
      // The caller's disconnect reaches us here; the upstream request is aborted at once.
      abort = new AbortController();
      cancel = cancels.register(abort);
      writer.start(cancel.subject);
    }
    const result: InvokeResult = await target.client.invoke(
      { operation: meta.operation, dialect: meta.dialect, model: meta.model, body, stream: meta.stream },
      abort?.signal ?? NOT_CANCELLABLE,
    );
    if (result.kind === "json") {
      status = result.status;
      usage = result.usage;
      writer.result(result.status, JSON.stringify(result.body), result.usage);
      return;
    }
    for await (const frame of result.frames) {
      if (abort?.signal.aborted) break;
      writer.chunk(frame);
    }
    usage = result.usage();
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
    cancel?.release();
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
