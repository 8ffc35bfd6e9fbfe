import {
  type ErrorReply,
  type FrameKind,
  GatehouseError,
  INVOKE_PROTOCOL_VERSION,
  isErrorCode,
} from "@gatehouse/contracts";
import type { Msg, NatsConnection } from "nats";
import { decodeJson } from "./codec.js";
import { expedite } from "./transport.js";

/*
 * The invoke protocol's binary layout (contracts/invoke.ts documents what each part means). Its
 * metadata travels in the payload, not in NATS headers: encoding and parsing a header block per
 * message was a measurable share of the hot path, and a fixed binary prefix costs next to nothing.
 *
 * request: [version u8][meta length u32 BE][meta: UTF-8 JSON][the caller's body, byte for byte]
 * frame:   [version u8][kind u8][seq u32 BE][kind-specific part]
 *   result: [status u16 BE][usage length u16 BE][usage JSON][response body]
 *   chunk:  [one or more SSE frames]
 *   end:    [usage JSON or none] error: [ErrorReply JSON]
 */

const REQUEST_HEAD = 5;
const FRAME_HEAD = 6;
const RESULT_HEAD = FRAME_HEAD + 4;
const MAX_USAGE_BYTES = 0xffff;

const KIND_CODE: Record<FrameKind, number> = {
  result: 0x52,
  chunk: 0x43,
  end: 0x45,
  error: 0x58,
};
const KIND_OF = new Map<number, FrameKind>(
  Object.entries(KIND_CODE).map(([kind, code]) => [code, kind as FrameKind]),
);

export type Payload = string | Uint8Array;

function byteLength(p: Payload): number {
  return typeof p === "string" ? Buffer.byteLength(p) : p.byteLength;
}

function put(buffer: Buffer, offset: number, p: Payload): number {
  if (typeof p === "string") return offset + buffer.write(p, offset, "utf8");
  buffer.set(p, offset);
  return offset + p.byteLength;
}

/** The `dispatch.invoke` request: ingress's decision (JSON) in front of the caller's body. */
export function encodeInvokeRequest(metaJson: string, body: Uint8Array): Buffer {
  const metaLength = Buffer.byteLength(metaJson);
  const buffer = Buffer.allocUnsafe(REQUEST_HEAD + metaLength + body.byteLength);
  buffer[0] = INVOKE_PROTOCOL_VERSION;
  buffer.writeUInt32BE(metaLength, 1);
  buffer.write(metaJson, REQUEST_HEAD, "utf8");
  buffer.set(body, REQUEST_HEAD + metaLength);
  return buffer;
}

/** Split an invoke request; a payload of another version or shape is refused, never guessed at. */
export function decodeInvokeRequest(data: Uint8Array): { metaJson: string; body: Uint8Array } {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buffer.length < REQUEST_HEAD || buffer[0] !== INVOKE_PROTOCOL_VERSION) {
    throw new GatehouseError("internal_error", "internal error", {
      detail: `invoke request of protocol version ${buffer[0] ?? "(empty)"}, expected ${INVOKE_PROTOCOL_VERSION}`,
    });
  }
  const metaLength = buffer.readUInt32BE(1);
  if (REQUEST_HEAD + metaLength > buffer.length) {
    throw new GatehouseError("internal_error", "internal error", { detail: "truncated invoke request" });
  }
  return {
    metaJson: buffer.toString("utf8", REQUEST_HEAD, REQUEST_HEAD + metaLength),
    body: buffer.subarray(REQUEST_HEAD + metaLength),
  };
}

function frame(kind: FrameKind, seq: number, size: number): Buffer {
  const buffer = Buffer.allocUnsafe(FRAME_HEAD + size);
  buffer[0] = INVOKE_PROTOCOL_VERSION;
  buffer[1] = KIND_CODE[kind];
  buffer.writeUInt32BE(seq, 2);
  return buffer;
}

function usageJson(usage: unknown): string {
  if (usage === null || usage === undefined) return "";
  const json = JSON.stringify(usage);
  return Buffer.byteLength(json) <= MAX_USAGE_BYTES ? json : "";
}

/** A batch of chunks is cut at this size, well under NATS's default 1 MB `max_payload`. */
const MAX_CHUNK_BATCH_BYTES = 256 * 1024;

/**
 * Answering side of the frames protocol. A stream's first chunk is published at once (and written
 * to the socket at once: time to first token); chunks produced after it in the same event-loop turn
 * — an upstream that sent many at once — travel as one `chunk` frame at the end of the turn, so
 * the caller parses and writes one message instead of hundreds. Nothing waits past the turn it was
 * produced in, so no chunk is held back from the client.
 */
export class FrameWriter {
  private seq = 0;
  private finished = false;
  private pending: Payload[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly replyTo: string,
  ) {}

  result(status: number, body: Payload, usage: unknown): void {
    this.finished = true;
    const usageText = usageJson(usage);
    const usageLength = Buffer.byteLength(usageText);
    const buffer = frame("result", 0, 4 + usageLength + byteLength(body));
    buffer.writeUInt16BE(status, FRAME_HEAD);
    buffer.writeUInt16BE(usageLength, FRAME_HEAD + 2);
    put(buffer, put(buffer, RESULT_HEAD, usageText), body);
    this.nc.publish(this.replyTo, buffer);
  }

  chunk(data: Payload): void {
    if (this.seq === 0 && this.pending.length === 0) {
      this.send("chunk", ++this.seq, data);
      expedite(this.nc);
      return;
    }
    this.pending.push(data);
    this.pendingBytes += byteLength(data);
    if (this.pendingBytes >= MAX_CHUNK_BATCH_BYTES) this.flushChunks();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushChunks);
    }
  }

  end(usage: unknown): void {
    this.flushChunks();
    this.finished = true;
    this.send("end", this.seq + 1, usageJson(usage));
  }

  error(error: GatehouseError): void {
    if (this.finished) return;
    this.flushChunks();
    this.finished = true;
    const reply: ErrorReply = { code: error.code, message: error.message };
    if (error.retryAfterSeconds !== undefined) reply.retryAfterSeconds = error.retryAfterSeconds;
    this.send("error", this.seq + 1, JSON.stringify(reply));
  }

  /** Publishes the chunks held since the first as one frame; at the end of a turn it is written at once. */
  private readonly flushChunks = (): void => {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const buffer = frame("chunk", ++this.seq, this.pendingBytes);
    let at = FRAME_HEAD;
    for (const p of this.pending) at = put(buffer, at, p);
    this.pending = [];
    this.pendingBytes = 0;
    this.nc.publish(this.replyTo, buffer);
    expedite(this.nc);
  };

  private send(kind: FrameKind, seq: number, data: Payload): void {
    const buffer = frame(kind, seq, byteLength(data));
    put(buffer, FRAME_HEAD, data);
    this.nc.publish(this.replyTo, buffer);
  }
}

export type Frame =
  | { kind: "result"; status: number; body: Buffer; usage: string | undefined }
  | { kind: "chunk"; data: Buffer }
  | { kind: "end"; usage: Buffer }
  | { kind: "error"; error: GatehouseError };

/** A decoded frame and its sequence number (0 for `result`). */
export type SequencedFrame = Frame & { seq: number };

/** Read one reply frame; throws for "no responders" and for anything that is not a frame. */
export function toFrame(msg: Msg, service: string): SequencedFrame {
  const data = msg.data;
  if (data.byteLength === 0 && msg.headers?.code === 503) {
    throw new GatehouseError("service_unavailable", `the ${service} service is unavailable`, {
      detail: "nats: no responders",
    });
  }
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const kind =
    buffer.length >= FRAME_HEAD && buffer[0] === INVOKE_PROTOCOL_VERSION
      ? KIND_OF.get(buffer[1] ?? 0)
      : undefined;
  if (kind === undefined) {
    throw new GatehouseError("internal_error", "internal error", {
      detail: `not an invoke frame of protocol version ${INVOKE_PROTOCOL_VERSION} (${buffer.length} bytes)`,
    });
  }
  const seq = buffer.readUInt32BE(2);
  const rest = buffer.subarray(FRAME_HEAD);
  switch (kind) {
    case "result": {
      if (rest.length < 4) {
        throw new GatehouseError("internal_error", "internal error", { detail: "truncated result frame" });
      }
      const usageLength = rest.readUInt16BE(2);
      return {
        kind,
        seq,
        status: rest.readUInt16BE(0),
        usage: usageLength > 0 ? rest.toString("utf8", 4, 4 + usageLength) : undefined,
        body: rest.subarray(4 + usageLength),
      };
    }
    case "chunk":
      return { kind, seq, data: rest };
    case "end":
      return { kind, seq, usage: rest };
    case "error": {
      let reply: Partial<ErrorReply> = {};
      try {
        reply = decodeJson(rest) as Partial<ErrorReply>;
      } catch {
        // an unreadable error is still an error: internal_error below
      }
      const code = isErrorCode(reply.code) ? reply.code : "internal_error";
      return {
        kind,
        seq,
        error: new GatehouseError(code, reply.message ?? "internal error", {
          ...(typeof reply.retryAfterSeconds === "number"
            ? { retryAfterSeconds: reply.retryAfterSeconds }
            : {}),
        }),
      };
    }
  }
}
