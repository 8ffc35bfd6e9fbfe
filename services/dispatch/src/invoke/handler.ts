import { FrameWriter, type RawRoute } from "@gatehouse/bus";
import {
  GatehouseError,
  INVOKE_ACTION,
  INVOKE_META_HEADER,
  InvokeMeta,
  subjectFor,
  type UsageRecord,
} from "@gatehouse/contracts";
import type { Logger } from "@gatehouse/kit";
import type { InvokeResult, Usage } from "@gatehouse/providers";
import { createInbox, type NatsConnection, type ServiceMsg } from "nats";
import type { ProviderClients } from "./clients.js";
import type { UsagePublisher } from "./usage.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface InvokeDeps {
  nc: NatsConnection;
  prefix: string;
  logger: Logger;
  clients: ProviderClients;
  usage: UsagePublisher;
}

/**
 * `dispatch.invoke`: the caller's body arrives byte for byte with ingress's decision in a header.
 * The account named there is the only target — nothing in the body can change it.
 */
export function invokeRoute(deps: InvokeDeps): RawRoute {
  const inflight = new Set<Promise<void>>();
  const route: RawRoute & { inflight: Set<Promise<void>> } = {
    raw: true,
    service: "dispatch",
    action: INVOKE_ACTION,
    inflight,
    handler: (msg) => {
      const done = handleInvoke(deps, msg).catch((err: unknown) =>
        deps.logger.error({ err }, "invoke failed"),
      );
      inflight.add(done);
      void done.finally(() => inflight.delete(done));
    },
  };
  return route;
}

function parseMeta(msg: ServiceMsg): InvokeMeta {
  const header = msg.headers?.get(INVOKE_META_HEADER);
  if (!header) throw new GatehouseError("invalid_request", "invoke request without metadata");
  const parsed = InvokeMeta.safeParse(JSON.parse(header));
  if (!parsed.success) throw new GatehouseError("invalid_request", "invoke metadata failed its schema");
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

async function handleInvoke(deps: InvokeDeps, msg: ServiceMsg): Promise<void> {
  if (!msg.reply) return;
  const started = performance.now();
  const writer = new FrameWriter(deps.nc, msg.reply);
  let meta: InvokeMeta | undefined;
  let status = 200;
  let usage: Usage | null = null;
  const abort = new AbortController();
  let cancelSub: ReturnType<NatsConnection["subscribe"]> | undefined;
  try {
    meta = parseMeta(msg);
    const body = parseBody(msg.data);
    const target = await deps.clients.get(meta.account);
    if (!target)
      throw new GatehouseError("model_not_found", `provider account '${meta.account}' does not exist`);
    if (!target.loaded.enabled) {
      throw new GatehouseError("permission_denied", `provider account '${meta.account}' is disabled`);
    }
    if (meta.stream) {
      // The caller's disconnect reaches us here; the upstream request is aborted at once.
      const cancelSubject = `${subjectFor(deps.prefix, "dispatch", "cancel")}.${createInbox().slice("_INBOX.".length)}`;
      cancelSub = deps.nc.subscribe(cancelSubject, { max: 1, callback: () => abort.abort() });
      writer.start(cancelSubject);
    }
    const result: InvokeResult = await target.client.invoke(
      { operation: meta.operation, dialect: meta.dialect, model: meta.model, body, stream: meta.stream },
      abort.signal,
    );
    if (result.kind === "json") {
      status = result.status;
      usage = result.usage;
      writer.result(result.status, encoder.encode(JSON.stringify(result.body)), result.usage);
      return;
    }
    for await (const frame of result.frames) {
      if (abort.signal.aborted) break;
      writer.chunk(encoder.encode(frame));
    }
    usage = result.usage();
    if (abort.signal.aborted) {
      status = 499;
      writer.error(new GatehouseError("invalid_request", "the client went away"));
    } else {
      writer.end(usage);
    }
  } catch (err) {
    const error =
      err instanceof GatehouseError
        ? err
        : abort.signal.aborted
          ? new GatehouseError("invalid_request", "the client went away")
          : new GatehouseError("internal_error", "internal error", { cause: err });
    status = abort.signal.aborted ? 499 : error.status;
    if (error.status >= 500)
      deps.logger[error.spec.level](
        { code: error.code, detail: error.detail, err: error.cause },
        "invoke failed",
      );
    writer.error(error);
  } finally {
    cancelSub?.unsubscribe();
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
