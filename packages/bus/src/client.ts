import {
  type Endpoint,
  ErrorReply,
  GatehouseError,
  isErrorCode,
  type RequestOf,
  type ResponseOf,
  subjectFor,
} from "@gatehouse/contracts";
import type { Msg, NatsConnection, NatsError } from "nats";
import { decodeJson, encodeJson } from "./codec.js";
import { ReplyMux, type RequestObserver } from "./mux.js";
import { traceHeaders } from "./trace.js";

export const SERVICE_ERROR_HEADER = "Nats-Service-Error";
export const SERVICE_ERROR_CODE_HEADER = "Nats-Service-Error-Code";

export interface RequestOptions {
  /** Default: the client's timeout (admin actions: its admin timeout). */
  timeoutMs?: number;
}

export interface BusClientOptions {
  /**
   * Timeout for `admin.*` actions. Revoking calls wait for ingress replicas to confirm (bounded by
   * the access lease, twice over in the worst case), so they need longer than a validation does.
   */
  adminTimeoutMs?: number;
  /** When this says the connection is down, requests fail at once with 503 instead of timing out. */
  isConnected?: () => boolean;
  /** Hears every request's latency and outcome (metrics). */
  observer?: RequestObserver;
}

/**
 * Typed request/reply over the contracts. Requests are checked by the answering service, replies
 * here. Transport failures become catalog errors: no responders → 503, timeout → 504.
 */
export class BusClient {
  /** How long `admin.*` actions (and other calls that may wait for a revoke to propagate) wait. */
  readonly adminTimeoutMs: number;
  /** One reply inbox per service asked (`replyInboxPrefix`): only that service may answer there. */
  private readonly muxes = new Map<string, ReplyMux>();

  constructor(
    readonly nc: NatsConnection,
    readonly prefix: string,
    private readonly defaultTimeoutMs = 5_000,
    private readonly options: BusClientOptions = {},
  ) {
    this.adminTimeoutMs = options.adminTimeoutMs ?? Math.max(defaultTimeoutMs, 15_000);
  }

  subject(endpoint: Endpoint): string {
    return subjectFor(this.prefix, endpoint.service, endpoint.action);
  }

  async request<E extends Endpoint>(
    endpoint: E,
    payload: RequestOf<E>,
    options: RequestOptions = {},
  ): Promise<ResponseOf<E>> {
    const timeoutMs =
      options.timeoutMs ??
      (endpoint.action.startsWith("admin.") ? this.adminTimeoutMs : this.defaultTimeoutMs);
    const msg = await this.requestRaw(this.subject(endpoint), encodeJson(payload), endpoint.service, {
      timeoutMs,
    });
    const body = parseReply(msg, endpoint.service);
    const parsed = endpoint.response.safeParse(body);
    if (!parsed.success) {
      throw new GatehouseError("internal_error", "internal service error", {
        detail: `reply from ${endpoint.service}.${endpoint.action} failed its schema: ${parsed.error.message}`,
      });
    }
    return parsed.data as ResponseOf<E>;
  }

  /** A request whose payload is already encoded; the reply is returned undecoded. */
  async requestRaw(
    subject: string,
    data: Uint8Array,
    service: string,
    options: RequestOptions = {},
  ): Promise<Msg> {
    if (this.options.isConnected && !this.options.isConnected()) {
      throw new GatehouseError("service_unavailable", `the ${service} service is unavailable`, {
        detail: "nats: not connected",
      });
    }
    const h = traceHeaders();
    let mux = this.muxes.get(service);
    if (!mux) {
      mux = new ReplyMux(this.nc, service, this.options.observer);
      this.muxes.set(service, mux);
    }
    try {
      return await mux.requestMsg(subject, data, options.timeoutMs ?? this.defaultTimeoutMs, h);
    } catch (err) {
      throw transportError(err, service);
    }
  }
}

/** Turn a NATS reply into its JSON body, or throw the service error it carries. */
export function parseReply(msg: Msg, service: string): unknown {
  const errorCode = msg.headers?.get(SERVICE_ERROR_CODE_HEADER);
  if (errorCode) {
    let reply: ErrorReply | undefined;
    try {
      reply = ErrorReply.parse(decodeJson(msg.data));
    } catch {
      reply = undefined;
    }
    const code = reply && isErrorCode(reply.code) ? reply.code : "internal_error";
    throw new GatehouseError(code, reply?.message ?? "internal service error", {
      detail: `${service} answered ${errorCode} ${msg.headers?.get(SERVICE_ERROR_HEADER) ?? ""}`,
      ...(reply?.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: reply.retryAfterSeconds }),
    });
  }
  try {
    return decodeJson(msg.data);
  } catch (err) {
    throw new GatehouseError("internal_error", "internal service error", {
      detail: `${service} sent a reply that is not JSON`,
      cause: err,
    });
  }
}

export function transportError(err: unknown, service: string): GatehouseError {
  if (err instanceof GatehouseError) return err;
  const code = (err as NatsError | undefined)?.code;
  if (code === "503") {
    return new GatehouseError("service_unavailable", `the ${service} service is unavailable`, {
      detail: "nats: no responders",
      cause: err,
    });
  }
  if (code === "TIMEOUT") {
    return new GatehouseError("service_timeout", `the ${service} service did not answer in time`, {
      detail: "nats: request timed out",
      cause: err,
    });
  }
  return new GatehouseError("service_unavailable", `the ${service} service is unavailable`, {
    detail: `nats: ${code ?? (err as Error)?.message ?? "unknown error"}`,
    cause: err,
  });
}
