import {
  type ErrorCode,
  GatehouseError,
  invokeCancelSubject,
  invokeCreditSubject,
  STREAM_CREDIT_WINDOW_BYTES,
} from "@gatehouse/contracts";
import type { NatsConnection, Subscription } from "nats";

/** How long a cancel for a call this instance has not (yet) seen is remembered, and how many. */
const EARLY_CANCEL_TTL_MS = 60_000;
const MAX_EARLY_CANCELS = 10_000;

const decoder = new TextDecoder();

/** Why ingress cancelled a call; what the call's usage record and span say. */
const CANCEL_REASONS: Partial<Record<string, ErrorCode>> = {
  "": "client_closed",
  client_closed: "client_closed",
  stream_write_timeout: "stream_write_timeout",
};

function cancelError(code: ErrorCode): GatehouseError {
  return code === "stream_write_timeout"
    ? new GatehouseError(code, "the client read nothing for too long; the stream was ended")
    : new GatehouseError("client_closed", "the client went away");
}

/**
 * A call's abort signal without EventTarget. An AbortController per call, and undici listening to
 * its signal, cost ~10–15 µs a call on the hot path (~9 % of c=64 throughput in `pnpm bench:ab`);
 * this implements the part of AbortSignal that the providers and undici use — `aborted`, `reason`,
 * `throwIfAborted()`, `add/removeEventListener("abort")` (each listener called once) — as plain fields.
 */
export class CallSignal {
  aborted = false;
  reason: unknown;
  private listeners: (() => void)[] | undefined;
  /**
   * A signal aborted with this one, after it (a routed call's current attempt): a field rather than
   * a listener, so following a call allocates no closure and no listener array.
   */
  follower: CallSignal | undefined;

  addEventListener(_type: "abort", listener: () => void): void {
    if (this.listeners === undefined) this.listeners = [listener];
    else this.listeners.push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const at = this.listeners?.indexOf(listener) ?? -1;
    if (at >= 0) this.listeners?.splice(at, 1);
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    for (const listener of listeners ?? []) listener();
    this.follower?.abort(reason);
  }

  /** What the providers and undici are handed: they use only the part above. */
  asAbortSignal(): AbortSignal {
    return this as unknown as AbortSignal;
  }
}

/** One call's cancel signal and, for a stream, its flow control. */
export class CallControl {
  readonly signal = new CallSignal();
  /** Chunk bytes ingress has written to its client (it acknowledges every half window). */
  private acked = 0;
  private wake: (() => void) | undefined;
  private waitTimer: NodeJS.Timeout | undefined;

  constructor(readonly release: () => void) {}

  /**
   * Undefined while fewer than a window of `sent` bytes wait for ingress's acknowledgement; else a
   * promise that settles once they do, or the call was cancelled. Waiting longer than `timeoutMs`
   * without hearing any acknowledgement cancels the call (`stream_write_timeout`): ingress ends such
   * a stream itself before that, so this only bounds what a vanished ingress could hold.
   */
  waitForCredit(sent: number, timeoutMs: number): Promise<void> | undefined {
    if (sent - this.acked < STREAM_CREDIT_WINDOW_BYTES || this.signal.aborted) return undefined;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waitTimer = undefined;
        this.signal.removeEventListener("abort", done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(() => {
        this.signal.abort(
          new GatehouseError("stream_write_timeout", "the stream was not read in time", {
            detail: `no acknowledgement within ${timeoutMs} ms`,
          }),
        );
      }, timeoutMs);
      this.waitTimer = timer;
      this.signal.addEventListener("abort", done);
      this.wake = () => {
        if (sent - this.acked < STREAM_CREDIT_WINDOW_BYTES) done();
      };
    });
  }

  /** Any acknowledgement shows ingress and its client alive: the wait's timeout starts over. */
  credit(bytes: number): void {
    if (bytes > this.acked) this.acked = bytes;
    this.waitTimer?.refresh();
    this.wake?.();
  }
}

/**
 * Cancels and acknowledgements: ingress picks each call's token and publishes to its cancel subject
 * when the caller goes away (or stopped reading), and to its credit subject as a stream's client
 * reads; every dispatch instance listens on one wildcard subscription for each (no subscription per
 * call) and applies them to the call it holds under that token. A cancel can overtake its own
 * request (the caller left at once, or this instance is slow to pick the request up): tokens it does
 * not hold are remembered for a minute, and a call registered under one is aborted before its
 * upstream call is made. Credits for unknown tokens are dropped: a stream starts with a full window.
 */
export class CallControls {
  private readonly live = new Map<string, CallControl>();
  private readonly early = new Map<string, { expires: number; code: ErrorCode }>();
  private readonly subs: Subscription[];

  constructor(nc: NatsConnection, prefix: string) {
    const cancelBase = invokeCancelSubject(prefix, "");
    const creditBase = invokeCreditSubject(prefix, "");
    this.subs = [
      nc.subscribe(`${cancelBase}*`, {
        callback: (err, msg) => {
          if (err) return;
          const code = CANCEL_REASONS[decoder.decode(msg.data)] ?? "client_closed";
          this.cancel(msg.subject.slice(cancelBase.length), code);
        },
      }),
      nc.subscribe(`${creditBase}*`, {
        callback: (err, msg) => {
          if (err) return;
          const bytes = Number(decoder.decode(msg.data));
          if (Number.isSafeInteger(bytes)) this.live.get(msg.subject.slice(creditBase.length))?.credit(bytes);
        },
      }),
    ];
  }

  /** The call's control, aborted when its cancel arrives (or already arrived), until `release()`. */
  register(token: string): CallControl {
    const control = new CallControl(() => {
      if (this.live.get(token) === control) this.live.delete(token);
    });
    const early = this.early.get(token);
    if (early !== undefined) {
      this.early.delete(token);
      if (early.expires > Date.now()) control.signal.abort(cancelError(early.code));
    }
    if (!control.signal.aborted) this.live.set(token, control);
    return control;
  }

  close(): void {
    for (const sub of this.subs) sub.unsubscribe();
  }

  private cancel(token: string, code: ErrorCode): void {
    const control = this.live.get(token);
    if (control) {
      control.signal.abort(cancelError(code));
      return;
    }
    // Oldest first (one TTL for all): drop what expired, and the oldest beyond the bound.
    const now = Date.now();
    for (const [t, entry] of this.early) {
      if (entry.expires > now && this.early.size < MAX_EARLY_CANCELS) break;
      this.early.delete(t);
    }
    this.early.set(token, { expires: now + EARLY_CANCEL_TTL_MS, code });
  }
}
