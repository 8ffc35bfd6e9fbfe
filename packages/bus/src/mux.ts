import { GatehouseError } from "@gatehouse/contracts";
import type { NatsOutcome } from "@gatehouse/kit";
import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "nats";
import { transportError } from "./client.js";
import { type Frame, type SequencedFrame, toFrame } from "./frames.js";

export interface FrameStreamOptions {
  /** Longest wait for the first frame (covers the upstream's time to first byte). */
  firstFrameTimeoutMs: number;
  /** Longest gap between frames once streaming. */
  idleTimeoutMs: number;
  /**
   * Most bytes of frames held unread: a producer that respects the credit window never comes near
   * it; one that does not ends the stream (`internal_error`) rather than growing this process.
   */
  maxQueuedBytes?: number;
}

/** Hears how long each request took and how it ended (metrics); called once per request. */
export type RequestObserver = (subject: string, outcome: NatsOutcome, seconds: number) => void;

/** What a failed request counts as. */
function outcomeOf(err: unknown): NatsOutcome {
  if (err instanceof GatehouseError) {
    if (err.code === "service_timeout") return "timeout";
    if (err.code === "service_unavailable" && err.detail === "nats: no responders") return "no_responders";
  }
  return "error";
}

/**
 * Replies to many requests on one wildcard subscription (`<inbox>.*`), told apart by the last
 * token. Compared with the client's own request(), no subscription is made or removed per call and
 * nothing allocates an Error unless a call fails; a stream is an ordered queue fed by the callback.
 */
export class ReplyMux {
  private readonly base: string;
  private readonly pending = new Map<string, Pending>();
  private readonly sub: Subscription;
  private readonly statuses: AsyncIterator<unknown> & { stop?: () => void };
  private counter = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly service: string,
    private readonly observer?: RequestObserver,
  ) {
    // The connection's own inbox prefix (the server lets this service subscribe to that one only),
    // then the service asked: the server lets only that service publish there.
    this.base = `${createInbox(replyInboxPrefix(nc, service))}.`;
    this.sub = nc.subscribe(`${this.base}*`, {
      callback: (err, msg) => {
        if (err) return;
        this.pending.get(msg.subject.slice(this.base.length))?.settle(msg);
      },
    });
    // The server refuses a publish this user may not make with an error, not a reply: fail the
    // request that made it at once (as the client's own request() does) rather than at its timeout.
    const statuses = nc.status();
    this.statuses = statuses as unknown as ReplyMux["statuses"];
    void (async () => {
      for await (const status of statuses) {
        const ctx = (status as { permissionContext?: { operation?: string; subject?: string } })
          .permissionContext;
        if (ctx?.operation === "publish" && ctx.subject) this.refused(ctx.subject);
      }
    })().catch(() => {});
  }

  private refused(subject: string): void {
    for (const p of this.pending.values()) {
      if (p.subject !== subject) continue;
      p.settle(
        undefined,
        new GatehouseError("service_unavailable", `the ${this.service} service is unavailable`, {
          detail: `nats: permissions violation for publish to ${subject}`,
        }),
      );
      return;
    }
  }

  /** Requests waiting for an answer (for tests and metrics). */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * One request, one answer: a `result` (reassembled from its `part` frames when it came in several)
   * or an `error`; anything else is the caller's to refuse. An answer larger than `maxBytes` is
   * refused as `response_too_large` as soon as its parts say so; once parts flow, silence longer
   * than `idleTimeoutMs` ends the wait.
   */
  request(
    subject: string,
    payload: Uint8Array,
    timeoutMs: number,
    limits: { maxBytes?: number; idleTimeoutMs?: number } = {},
  ): Promise<SequencedFrame> {
    const observer = this.observer;
    if (observer === undefined) return this.requestFrames(subject, payload, timeoutMs, limits);
    const started = performance.now();
    return this.requestFrames(subject, payload, timeoutMs, limits).then(
      (frame) => {
        observer(subject, "ok", (performance.now() - started) / 1000);
        return frame;
      },
      (err: unknown) => {
        observer(subject, outcomeOf(err), (performance.now() - started) / 1000);
        throw err;
      },
    );
  }

  private requestFrames(
    subject: string,
    payload: Uint8Array,
    timeoutMs: number,
    limits: { maxBytes?: number; idleTimeoutMs?: number },
  ): Promise<SequencedFrame> {
    return new Promise((resolve, reject) => {
      const token = (++this.counter).toString(36);
      let timer = setTimeout(() => {
        this.pending.delete(token);
        reject(this.timeout(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      let parts: Buffer[] | undefined;
      let partBytes = 0;
      let target: string | undefined;
      let expected = 1;
      const fail = (err: unknown) => {
        clearTimeout(timer);
        this.pending.delete(token);
        reject(err);
      };
      const onFrame = (msg: Msg) => {
        let frame: SequencedFrame;
        try {
          frame = toFrame(msg, this.service);
        } catch (err) {
          fail(err);
          return;
        }
        if (frame.kind !== "error" && frame.seq !== expected) {
          fail(
            new GatehouseError("internal_error", "the answer was interrupted", {
              detail: `frame ${frame.seq} arrived, expected ${expected}`,
            }),
          );
          return;
        }
        expected++;
        if (frame.kind === "target") {
          target = frame.target;
          return;
        }
        if (frame.kind === "part") {
          partBytes += frame.data.byteLength;
          if (partBytes > (limits.maxBytes ?? Number.POSITIVE_INFINITY)) {
            fail(responseTooLarge(limits.maxBytes ?? 0));
            return;
          }
          parts ??= [];
          parts.push(frame.data);
          if (limits.idleTimeoutMs !== undefined && parts.length === 1) {
            clearTimeout(timer);
            const idle = limits.idleTimeoutMs;
            timer = setTimeout(() => fail(this.timeout(`no frame within ${idle} ms`)), idle);
          } else if (limits.idleTimeoutMs !== undefined) timer.refresh();
          return;
        }
        clearTimeout(timer);
        this.pending.delete(token);
        if (frame.kind === "result" && parts !== undefined) {
          if (partBytes + frame.body.byteLength > (limits.maxBytes ?? Number.POSITIVE_INFINITY)) {
            reject(responseTooLarge(limits.maxBytes ?? 0));
            return;
          }
          parts.push(frame.body);
          frame = { ...frame, body: Buffer.concat(parts, partBytes + frame.body.byteLength) };
        }
        if (target !== undefined && frame.kind === "result") frame.target = target;
        resolve(frame);
      };
      this.pending.set(token, {
        subject,
        settle: (msg, err) => (msg === undefined ? fail(err) : onFrame(msg)),
      });
      try {
        this.nc.publish(subject, payload, { reply: this.base + token });
      } catch (err) {
        fail(transportError(err, this.service));
      }
    });
  }

  /** One request, its reply as it came; "no responders" and the timeout are thrown as catalog errors. */
  requestMsg(subject: string, payload: Uint8Array, timeoutMs: number, headers?: MsgHdrs): Promise<Msg> {
    const observer = this.observer;
    if (observer === undefined) return this.requestOneMsg(subject, payload, timeoutMs, headers);
    const started = performance.now();
    return this.requestOneMsg(subject, payload, timeoutMs, headers).then(
      (msg) => {
        observer(subject, "ok", (performance.now() - started) / 1000);
        return msg;
      },
      (err: unknown) => {
        observer(subject, outcomeOf(err), (performance.now() - started) / 1000);
        throw err;
      },
    );
  }

  private requestOneMsg(
    subject: string,
    payload: Uint8Array,
    timeoutMs: number,
    headers?: MsgHdrs,
  ): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const token = (++this.counter).toString(36);
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(this.timeout(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(token, {
        subject,
        settle: (msg, err) => {
          clearTimeout(timer);
          this.pending.delete(token);
          if (msg === undefined) return reject(err);
          try {
            resolve(this.readMsg(msg));
          } catch (readErr) {
            reject(readErr);
          }
        },
      });
      try {
        this.nc.publish(
          subject,
          payload,
          headers ? { reply: this.base + token, headers } : { reply: this.base + token },
        );
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(token);
        reject(transportError(err, this.service));
      }
    });
  }

  private readonly readMsg = (msg: Msg): Msg => {
    if (msg.data.byteLength === 0 && msg.headers?.code === 503) {
      throw new GatehouseError("service_unavailable", `the ${this.service} service is unavailable`, {
        detail: "nats: no responders",
      });
    }
    return msg;
  };

  /**
   * A streamed request: yields frames in order until `result`, `end` or `error`. A missing sequence
   * number, "no responders", or silence past the timeouts end the iteration with an error.
   */
  stream(subject: string, payload: Uint8Array, options: FrameStreamOptions): AsyncIterableIterator<Frame> {
    const token = (++this.counter).toString(36);
    const stream = new FrameStream(options, this.service, () => this.pending.delete(token), this.timeout);
    const observer = this.observer;
    if (observer === undefined) {
      this.pending.set(token, {
        subject,
        settle: (msg, err) => (msg === undefined ? stream.fail(err) : stream.push(msg)),
      });
    } else {
      // A stream's latency is its first frame's (what the caller waits for); later frames are not timed.
      const started = performance.now();
      let first = true;
      const seen = (outcome: NatsOutcome) => {
        if (!first) return;
        first = false;
        observer(subject, outcome, (performance.now() - started) / 1000);
      };
      stream.onFailure = (err) => seen(outcomeOf(err));
      this.pending.set(token, {
        subject,
        settle: (msg, err) => {
          if (msg === undefined) stream.fail(err);
          else {
            seen(msg.data.byteLength === 0 && msg.headers?.code === 503 ? "no_responders" : "ok");
            stream.push(msg);
          }
        },
      });
    }
    try {
      this.nc.publish(subject, payload, { reply: this.base + token });
    } catch (err) {
      stream.fail(transportError(err, this.service));
    }
    return stream;
  }

  close(): void {
    this.sub.unsubscribe();
    this.statuses.stop?.();
    this.pending.clear();
  }

  private readonly timeout = (detail: string) =>
    new GatehouseError("service_timeout", `the ${this.service} service did not answer in time`, { detail });
}

/**
 * Where `target`'s replies to this connection arrive: `<inbox prefix>.<target>`. Each service asked
 * gets its own inboxes, and infra/nats/nats.conf lets only that service publish to them, so a
 * service answering one request cannot forge the answer to a request sent to another.
 */
export function replyInboxPrefix(nc: NatsConnection, target: string): string {
  return `${inboxPrefixOf(nc) ?? "_INBOX"}.${target}`;
}

function responseTooLarge(maxBytes: number): GatehouseError {
  return new GatehouseError(
    "response_too_large",
    "the provider's answer is larger than this gateway relays",
    {
      detail: `answer over ${maxBytes} bytes`,
    },
  );
}

/** The `inboxPrefix` the connection was opened with (the `nats` client keeps it in its options). */
export function inboxPrefixOf(nc: NatsConnection): string | undefined {
  return (nc as unknown as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
}

/** A request waiting for its reply, and the subject it was sent on (to match a refused publish). */
interface Pending {
  subject: string;
  /** The reply, or (no message) the error that ends the request. */
  settle(msg: Msg | undefined, err?: unknown): void;
}

type Waiter = { resolve: (r: IteratorResult<Frame>) => void; reject: (err: unknown) => void };

class FrameStream implements AsyncIterableIterator<Frame> {
  private readonly queue: Msg[] = [];
  private queuedBytes = 0;
  private waiter: Waiter | undefined;
  private failure: unknown;
  private finished = false;
  private expectedSeq = 1;
  private started = false;
  private timer: NodeJS.Timeout;

  constructor(
    private readonly options: FrameStreamOptions,
    private readonly service: string,
    private readonly release: () => void,
    private readonly timeoutError: (detail: string) => GatehouseError,
  ) {
    this.timer = setTimeout(this.onTimeout, options.firstFrameTimeoutMs);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Frame> {
    return this;
  }

  push(msg: Msg): void {
    if (this.finished || this.failure !== undefined) return;
    if (this.started) this.timer.refresh();
    else {
      this.started = true;
      clearTimeout(this.timer);
      this.timer = setTimeout(this.onTimeout, this.options.idleTimeoutMs);
    }
    const waiter = this.waiter;
    if (waiter === undefined) {
      this.queuedBytes += msg.data.byteLength;
      if (this.queuedBytes > (this.options.maxQueuedBytes ?? Number.POSITIVE_INFINITY)) {
        this.queue.length = 0;
        this.queuedBytes = 0;
        this.fail(
          new GatehouseError("internal_error", "the response stream was interrupted", {
            detail: `more than ${this.options.maxQueuedBytes} bytes of frames waiting`,
          }),
        );
        return;
      }
      this.queue.push(msg);
      return;
    }
    this.waiter = undefined;
    try {
      waiter.resolve(this.read(msg));
    } catch (err) {
      waiter.reject(err);
    }
  }

  /** Hears the error that ended the stream (set by a ReplyMux that times its requests). */
  onFailure: ((err: unknown) => void) | undefined;

  fail(err: unknown): void {
    if (this.finished || this.failure !== undefined) return;
    this.failure = err;
    this.onFailure?.(err);
    clearTimeout(this.timer);
    this.release();
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) {
      this.finish();
      waiter.reject(err);
    }
  }

  next(): Promise<IteratorResult<Frame>> {
    const msg = this.queue.shift();
    if (msg !== undefined) {
      this.queuedBytes -= msg.data.byteLength;
      try {
        return Promise.resolve(this.read(msg));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.finished) return Promise.resolve({ done: true, value: undefined });
    if (this.failure !== undefined) {
      this.finish();
      return Promise.reject(this.failure);
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<Frame>> {
    this.finish();
    this.queue.length = 0;
    this.queuedBytes = 0;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve({ done: true, value: undefined });
    return Promise.resolve({ done: true, value: undefined });
  }

  /** Decode the next frame in order; the terminal frame finishes the stream. */
  private read(msg: Msg): IteratorResult<Frame> {
    if (this.finished) return { done: true, value: undefined };
    let frame: SequencedFrame;
    try {
      frame = toFrame(msg, this.service);
      if (
        frame.kind === "chunk" ||
        frame.kind === "end" ||
        frame.kind === "error" ||
        frame.kind === "target"
      ) {
        if (frame.seq !== this.expectedSeq) {
          throw new GatehouseError("internal_error", "the response stream was interrupted", {
            detail: `frame ${frame.seq} arrived, expected ${this.expectedSeq}`,
          });
        }
        this.expectedSeq++;
      }
    } catch (err) {
      this.finish();
      throw err;
    }
    if (frame.kind === "result" || frame.kind === "end" || frame.kind === "error") this.finish();
    return { done: false, value: frame };
  }

  private readonly onTimeout = () => {
    const ms = this.started ? this.options.idleTimeoutMs : this.options.firstFrameTimeoutMs;
    this.fail(this.timeoutError(`no frame within ${ms} ms`));
  };

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.release();
  }
}
