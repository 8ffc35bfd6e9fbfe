import {
  CANCEL_HEADER,
  type ErrorReply,
  FRAME_HEADER,
  type FrameKind,
  GatehouseError,
  isErrorCode,
  SEQ_HEADER,
  STATUS_HEADER,
  USAGE_HEADER,
} from "@gatehouse/contracts";
import { createInbox, type Msg, type MsgHdrs, type NatsConnection, headers as natsHeaders } from "nats";
import { decodeJson, encodeJson } from "./codec.js";
import { injectTraceContext } from "./trace.js";

const EMPTY = new Uint8Array(0);

/** Answering side of the frames protocol (see contracts/invoke.ts). */
export class FrameWriter {
  private seq = 0;
  private finished = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly replyTo: string,
  ) {}

  get done(): boolean {
    return this.finished;
  }

  private send(kind: FrameKind, data: Uint8Array, extra?: (h: MsgHdrs) => void): void {
    const h = natsHeaders();
    h.set(FRAME_HEADER, kind);
    extra?.(h);
    this.nc.publish(this.replyTo, data, { headers: h });
  }

  result(status: number, body: Uint8Array, usage: unknown): void {
    this.finished = true;
    this.send("result", body, (h) => {
      h.set(STATUS_HEADER, String(status));
      if (usage) h.set(USAGE_HEADER, JSON.stringify(usage));
    });
  }

  start(cancelSubject: string): void {
    this.send("start", EMPTY, (h) => h.set(CANCEL_HEADER, cancelSubject));
  }

  chunk(data: Uint8Array): void {
    const seq = ++this.seq;
    this.send("chunk", data, (h) => h.set(SEQ_HEADER, String(seq)));
  }

  end(usage: unknown): void {
    this.finished = true;
    this.send("end", usage ? encodeJson(usage) : EMPTY, (h) => h.set(SEQ_HEADER, String(this.seq + 1)));
  }

  error(error: GatehouseError): void {
    if (this.finished) return;
    this.finished = true;
    const reply: ErrorReply = { code: error.code, message: error.message };
    if (error.retryAfterSeconds !== undefined) reply.retryAfterSeconds = error.retryAfterSeconds;
    this.send("error", encodeJson(reply), (h) => h.set(SEQ_HEADER, String(this.seq + 1)));
  }
}

export type Frame =
  | { kind: "result"; status: number; body: Uint8Array; usage: string | undefined }
  | { kind: "start"; cancelSubject: string }
  | { kind: "chunk"; data: Uint8Array }
  | { kind: "end"; usage: Uint8Array }
  | { kind: "error"; error: GatehouseError };

export interface FrameRequestOptions {
  subject: string;
  service: string;
  headers: MsgHdrs;
  payload: Uint8Array;
  /** Longest wait for the first frame (covers the upstream's time to first byte). */
  firstFrameTimeoutMs: number;
  /** Longest gap between frames once streaming. */
  idleTimeoutMs: number;
}

/**
 * Asking side: publish a request with a private inbox and yield its frames in order. A missing
 * sequence number, "no responders", or silence past the timeouts end the iteration with an error.
 */
export async function* requestFrames(
  nc: NatsConnection,
  options: FrameRequestOptions,
): AsyncGenerator<Frame> {
  const inbox = createInbox();
  const sub = nc.subscribe(inbox);
  injectTraceContext(options.headers);
  nc.publish(options.subject, options.payload, { headers: options.headers, reply: inbox });
  const iterator = sub[Symbol.asyncIterator]();
  let expectedSeq = 1;
  let timeoutMs = options.firstFrameTimeoutMs;
  try {
    for (;;) {
      const next = await nextWithTimeout(iterator, timeoutMs, options.service);
      if (next.done) return;
      const frame = toFrame(next.value, options.service);
      if (frame.kind === "chunk" || frame.kind === "end" || frame.kind === "error") {
        const seq = Number(next.value.headers?.get(SEQ_HEADER));
        if (seq !== expectedSeq) {
          throw new GatehouseError("internal_error", "the response stream was interrupted", {
            detail: `frame ${seq} arrived, expected ${expectedSeq}`,
          });
        }
        expectedSeq++;
      }
      yield frame;
      if (frame.kind === "result" || frame.kind === "end" || frame.kind === "error") return;
      timeoutMs = options.idleTimeoutMs;
    }
  } finally {
    sub.unsubscribe();
  }
}

async function nextWithTimeout(
  iterator: AsyncIterator<Msg>,
  ms: number,
  service: string,
): Promise<IteratorResult<Msg>> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      iterator.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new GatehouseError("service_timeout", `the ${service} service did not answer in time`, {
                detail: `no frame within ${ms} ms`,
              }),
            ),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Read one reply frame; throws for "no responders" and unknown frames. */
export function toFrame(msg: Msg, service: string): Frame {
  const h = msg.headers;
  if (h && h.code === 503) {
    throw new GatehouseError("service_unavailable", `the ${service} service is unavailable`, {
      detail: "nats: no responders",
    });
  }
  const kind = h?.get(FRAME_HEADER);
  switch (kind) {
    case "result":
      return {
        kind,
        status: Number(h?.get(STATUS_HEADER) || 200),
        body: msg.data,
        usage: h?.get(USAGE_HEADER) || undefined,
      };
    case "start":
      return { kind, cancelSubject: h?.get(CANCEL_HEADER) ?? "" };
    case "chunk":
      return { kind, data: msg.data };
    case "end":
      return { kind, usage: msg.data };
    case "error": {
      let reply: Partial<ErrorReply> = {};
      try {
        reply = decodeJson(msg.data) as Partial<ErrorReply>;
      } catch {
        // fall through to internal_error
      }
      const code = isErrorCode(reply.code) ? reply.code : "internal_error";
      return {
        kind,
        error: new GatehouseError(code, reply.message ?? "internal error", {
          ...(typeof reply.retryAfterSeconds === "number"
            ? { retryAfterSeconds: reply.retryAfterSeconds }
            : {}),
        }),
      };
    }
    default:
      throw new GatehouseError("internal_error", "internal error", {
        detail: `unknown frame kind ${kind ?? "(none)"}`,
      });
  }
}
