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
 *   part:   [bytes of the response body]           (only when the body does not fit in the result)
 *   result: [status u16 BE][usage length u16 BE][target length u8][usage JSON][target][the rest of the body]
 *   chunk:  [SSE bytes; an event may be cut across frames]
 *   end:    [usage JSON or none] error: [ErrorReply JSON]
 *   target: [`<account>/<model>` UTF-8]  (a routed stream's target, once, before its first chunk; a
 *           routed non-streaming answer carries it in its result frame instead, saving a message)
 */

const REQUEST_HEAD = 5;
const FRAME_HEAD = 6;
const RESULT_HEAD = FRAME_HEAD + 5;
/** A target longer than this (it never is: 63 + 1 + 256 UTF-16 units at most) is not sent. */
const MAX_TARGET_BYTES = 0xff;
const MAX_USAGE_BYTES = 0xffff;

const KIND_CODE: Record<FrameKind, number> = {
  result: 0x52,
  part: 0x50,
  chunk: 0x43,
  end: 0x45,
  error: 0x58,
  target: 0x54,
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

/** A batch of chunks is cut at this size (half a credit window: ingress acknowledges per half). */
const MAX_CHUNK_BATCH_BYTES = 32 * 1024;
/** NATS's default `max_payload`, used until the server's own figure is known. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/**
 * A large answer waits for the server to take each this many bytes before it hands over more, so
 * dispatch never holds more than this of it in its NATS write buffer.
 */
const PACE_BYTES = 4 * 1024 * 1024;

/** The server's `max_payload` as the connection was told it (frames must stay below it). */
export function maxPayloadOf(nc: NatsConnection): number {
  const max = (nc as { info?: { max_payload?: number } }).info?.max_payload;
  return typeof max === "number" && max > FRAME_HEAD + 1024 ? max : DEFAULT_MAX_PAYLOAD;
}

/**
 * Answering side of the frames protocol. A stream's first chunk is published at once (and written
 * to the socket at once: time to first token); chunks produced after it in the same event-loop turn
 * — an upstream that sent many at once — travel as one `chunk` frame at the end of the turn, so
 * the caller parses and writes one message instead of hundreds. Nothing waits past the turn it was
 * produced in, so no chunk is held back from the client.
 *
 * No frame is larger than the server's `max_payload`: a large answer goes as `part` frames and the
 * result, a large chunk as several chunk frames. A frame that cannot be published ends the call:
 * an `error` frame takes its sequence number (so the caller hears at once), and `failed` tells the
 * handler to stop reading the upstream.
 */
export class FrameWriter {
  private seq = 0;
  private finished = false;
  private pending: Payload[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  private failure: unknown;
  private readonly maxFrame: number;
  /** Chunk bytes handed to `chunk()` so far (flow control compares it with the caller's credit). */
  chunkBytes = 0;
  /** A routed call's target, sent with the result or in a frame of its own before the first chunk. */
  private routedTarget = "";

  constructor(
    private readonly nc: NatsConnection,
    private readonly replyTo: string,
    maxPayload = maxPayloadOf(nc),
  ) {
    this.maxFrame = maxPayload - FRAME_HEAD;
  }

  /** Whether a frame could not be published (the call has ended; stop producing). */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** The publish failure that ended the call, if one did. */
  get failureCause(): unknown {
    return this.failure;
  }

  /**
   * The non-streaming answer. One frame when it fits (synchronous); otherwise `part` frames paced by
   * the server's acknowledgements, then the result (the promise settles when all went out or failed).
   */
  result(status: number, body: Payload, usage: unknown): void | Promise<void> {
    if (this.finished) return;
    const usageText = usageJson(usage);
    const usageLength = Buffer.byteLength(usageText);
    const bodyLength = byteLength(body);
    const head = 5 + usageLength + this.routedTarget.length;
    if (head + bodyLength <= this.maxFrame) {
      this.finished = true;
      const buffer = frame("result", this.seq + 1, head + bodyLength);
      this.resultHead(buffer, status, usageLength);
      put(buffer, put(buffer, put(buffer, RESULT_HEAD, usageText), this.routedTarget), body);
      this.publish(buffer);
      return;
    }
    return this.resultInParts(status, typeof body === "string" ? Buffer.from(body) : body, usageText);
  }

  private resultHead(buffer: Buffer, status: number, usageLength: number): void {
    buffer.writeUInt16BE(status, FRAME_HEAD);
    buffer.writeUInt16BE(usageLength, FRAME_HEAD + 2);
    buffer[FRAME_HEAD + 4] = this.routedTarget.length;
  }

  /**
   * A routed call's chosen target (ASCII `<account>/<model>`): it goes with the result, or in a
   * frame of its own ahead of a stream's first chunk, so ingress can name it in the headers.
   */
  target(target: string): void {
    if (this.finished || this.seq !== 0) return;
    // Account names are ASCII; a model name that is not would be cut mid-character: leave it out.
    if (target.length <= MAX_TARGET_BYTES && Buffer.byteLength(target) === target.length)
      this.routedTarget = target;
  }

  private async resultInParts(status: number, body: Uint8Array, usageText: string): Promise<void> {
    const usageLength = Buffer.byteLength(usageText);
    const lastRoom = this.maxFrame - 5 - usageLength - this.routedTarget.length;
    let at = 0;
    let sinceFlush = 0;
    while (body.byteLength - at > lastRoom) {
      const piece = body.subarray(at, at + this.maxFrame);
      if (!this.send("part", piece)) return;
      at += piece.byteLength;
      sinceFlush += piece.byteLength;
      if (sinceFlush >= PACE_BYTES) {
        sinceFlush = 0;
        try {
          await this.nc.flush();
        } catch (err) {
          this.fail(err);
          return;
        }
        if (this.finished) return;
      }
    }
    const rest = body.subarray(at);
    this.finished = true;
    const buffer = frame(
      "result",
      this.seq + 1,
      5 + usageLength + this.routedTarget.length + rest.byteLength,
    );
    this.resultHead(buffer, status, usageLength);
    put(buffer, put(buffer, put(buffer, RESULT_HEAD, usageText), this.routedTarget), rest);
    this.publish(buffer);
  }

  chunk(data: Payload): void {
    if (this.finished) return;
    const first = this.seq === 0 && this.pending.length === 0;
    if (first && this.routedTarget !== "" && !this.send("target", this.routedTarget)) return;
    const size = byteLength(data);
    this.chunkBytes += size;
    if (first && size <= this.maxFrame) {
      if (this.send("chunk", data)) expedite(this.nc);
      return;
    }
    this.pending.push(data);
    this.pendingBytes += size;
    if (this.pendingBytes >= MAX_CHUNK_BATCH_BYTES) this.flushChunks();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushChunks);
    }
  }

  end(usage: unknown): void {
    this.flushChunks();
    if (this.finished) return;
    this.finished = true;
    this.send("end", usageJson(usage));
  }

  error(error: GatehouseError): void {
    if (this.finished) return;
    this.flushChunks();
    if (this.finished) return;
    this.finished = true;
    this.send("error", errorJson(error));
  }

  /** Publishes the chunks held since the first as one frame (several if they exceed a frame). */
  private readonly flushChunks = (): void => {
    this.flushScheduled = false;
    if (this.pending.length === 0 || this.finished) return;
    const pending = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    if (bytes <= this.maxFrame) {
      const buffer = frame("chunk", this.seq + 1, bytes);
      let at = FRAME_HEAD;
      for (const p of pending) at = put(buffer, at, p);
      if (!this.publish(buffer)) return;
    } else {
      // More than one frame holds (an upstream event larger than max_payload): cut the bytes anywhere.
      const data = Buffer.allocUnsafe(bytes);
      let at = 0;
      for (const p of pending) at = put(data, at, p);
      for (let from = 0; from < bytes; from += this.maxFrame) {
        if (!this.send("chunk", data.subarray(from, from + this.maxFrame))) return;
      }
    }
    expedite(this.nc);
  };

  /** Publishes the next frame; false (and the call ended) when it could not be published. */
  private send(kind: FrameKind, data: Payload): boolean {
    const buffer = frame(kind, this.seq + 1, byteLength(data));
    put(buffer, FRAME_HEAD, data);
    return this.publish(buffer);
  }

  private publish(buffer: Buffer): boolean {
    try {
      this.nc.publish(this.replyTo, buffer);
      this.seq++;
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  /**
   * A frame did not go out: the call is over. The error frame takes the lost frame's number, so the
   * caller ends the call at once instead of waiting for its timeout; if even that cannot be
   * published (the connection is gone), the caller's own timeouts are what is left.
   */
  private fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.finished = true;
    this.pending = [];
    this.pendingBytes = 0;
    const error = new GatehouseError("internal_error", "the answer could not be delivered", {
      detail: `publish failed: ${err instanceof Error ? err.message : String(err)}`,
    });
    const buffer = frame("error", this.seq + 1, 0);
    const reply = Buffer.concat([buffer, Buffer.from(errorJson(error))]);
    try {
      this.nc.publish(this.replyTo, reply);
      this.seq++;
    } catch {
      // nothing more can be sent on this connection
    }
  }
}

function errorJson(error: GatehouseError): string {
  const reply: ErrorReply = { code: error.code, message: error.message };
  if (error.retryAfterSeconds !== undefined) reply.retryAfterSeconds = error.retryAfterSeconds;
  return JSON.stringify(reply);
}

export type Frame =
  | { kind: "result"; status: number; body: Buffer; usage: string | undefined; target?: string }
  | { kind: "target"; target: string }
  | { kind: "part"; data: Buffer }
  | { kind: "chunk"; data: Buffer }
  | { kind: "end"; usage: Buffer }
  | { kind: "error"; error: GatehouseError };

/** A decoded frame and its sequence number. */
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
      if (rest.length < 5) {
        throw new GatehouseError("internal_error", "internal error", { detail: "truncated result frame" });
      }
      const usageLength = rest.readUInt16BE(2);
      const targetLength = rest[4] ?? 0;
      const bodyAt = 5 + usageLength + targetLength;
      const result: SequencedFrame & { kind: "result" } = {
        kind,
        seq,
        status: rest.readUInt16BE(0),
        usage: usageLength > 0 ? rest.toString("utf8", 5, 5 + usageLength) : undefined,
        body: rest.subarray(bodyAt),
      };
      if (targetLength > 0) result.target = rest.toString("latin1", 5 + usageLength, bodyAt);
      return result;
    }
    case "chunk":
    case "part":
      return { kind, seq, data: rest };
    case "target":
      return { kind, seq, target: rest.toString("utf8") };
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
