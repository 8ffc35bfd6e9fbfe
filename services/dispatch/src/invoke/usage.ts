import { randomUUID } from "node:crypto";
import { encodeJson } from "@gatehouse/bus";
import { type UsageRecord, usageSubject } from "@gatehouse/contracts";
import type { Logger } from "@gatehouse/kit";
import type { NatsConnection } from "nats";

/** Records kept for another try while JetStream refuses them, by default: 50 batches of 200. */
const MAX_HELD = 10_000;

export interface UsagePublisherOptions {
  onPublished?: (stage: "published" | "publish_failed", count: number) => void;
  /** Most records held in memory while JetStream refuses them; past it the oldest are dropped. */
  maxHeld?: number;
}

/**
 * Collects usage records off the request path and publishes them to JetStream in batches (one
 * stored, acknowledged message per batch instead of one per call). A record waits at most
 * `maxDelayMs` in memory; from JetStream on it survives restarts and database outages. A batch
 * JetStream refuses (it is out, or slow to answer) is kept and sent again with the next flush — a
 * second copy of a batch whose acknowledgement was lost is harmless: storing is idempotent on each
 * record's id — up to `maxHeld` records, past which the oldest are dropped and logged.
 */
export class UsagePublisher {
  private queue: UsageRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private batch = 0;
  private readonly instance = randomUUID();
  private inflight = new Set<Promise<void>>();
  private readonly maxHeld: number;
  /** Calls under way (or being estimated) whose record is still to come. */
  private open = 0;
  private closing = false;
  /** The last publish was refused: send one batch at a time until one is taken. */
  private refusing = false;
  private onIdle: (() => void) | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly maxBatch = 200,
    private readonly maxDelayMs = 1_000,
    private readonly options: UsagePublisherOptions = {},
  ) {
    this.maxHeld = Math.max(maxBatch, options.maxHeld ?? MAX_HELD);
  }

  /** Records waiting in memory for the next flush (or for JetStream to take them again). */
  get pending(): number {
    return this.queue.length;
  }

  add(record: UsageRecord): void {
    this.queue.push(record);
    // While JetStream refuses, a full queue waits for the timer's probe: were each record to flush,
    // every call would send a held batch to be refused again (its encoding and a warn line per call).
    if ((this.queue.length >= this.maxBatch && !this.refusing) || this.closing) void this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.maxDelayMs);
  }

  /** A call whose record will come later: a stop waits for it (see `close`) until `release`. */
  hold(): void {
    this.open++;
  }

  /** The held call added its record, or will add none. */
  release(): void {
    this.open--;
    if (this.open === 0) this.onIdle?.();
  }

  /**
   * For a stop: waits up to `waitMs` for the calls still under way to add their records, then
   * publishes everything pending. A record added after this is published at once.
   */
  async close(waitMs: number): Promise<void> {
    this.closing = true;
    if (this.open > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.onIdle = resolve;
        timer = setTimeout(resolve, waitMs);
      });
      clearTimeout(timer);
      this.onIdle = undefined;
    }
    await this.flush();
    if (this.open > 0 || this.queue.length > 0) {
      this.logger.error(
        { calls: this.open, records: this.queue.length },
        "usage records not published before the stop",
      );
    }
  }

  /** Publish what is pending now; resolves once every publish so far was acknowledged or failed. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    // While JetStream refuses, one batch goes as a probe; the rest follow once it is taken (at a
    // stop, everything goes: there is no later try).
    const probe = this.refusing && !this.closing;
    const records = probe ? this.queue.splice(0, this.maxBatch) : this.queue;
    if (!probe) this.queue = [];
    else if (this.queue.length > 0) this.timer = setTimeout(() => this.flush(), this.maxDelayMs);
    for (let i = 0; i < records.length; i += this.maxBatch) this.publish(records.slice(i, i + this.maxBatch));
    return Promise.all([...this.inflight]).then(() => {});
  }

  private publish(records: UsageRecord[]): void {
    const batch: UsageBatch = { records };
    const p = this.nc
      .jetstream()
      .publish(usageSubject(this.prefix), encodeJson(batch), { msgID: `${this.instance}:${++this.batch}` })
      .then(
        () => {
          this.options.onPublished?.("published", records.length);
          if (this.refusing) {
            this.refusing = false;
            if (this.queue.length > 0) void this.flush();
          }
        },
        (err: unknown) => {
          this.refusing = true;
          this.options.onPublished?.("publish_failed", records.length);
          this.logger.warn({ err, records: records.length }, "usage records not published; kept to retry");
          this.keep(records);
        },
      );
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /** Refused records, back at the head of the queue (oldest first) for the next flush, bounded. */
  private keep(records: UsageRecord[]): void {
    this.queue = records.concat(this.queue);
    const over = this.queue.length - this.maxHeld;
    if (over > 0) {
      this.queue.splice(0, over);
      this.logger.error({ records: over }, "usage records dropped: JetStream refused them for too long");
    }
    if (!this.closing) this.timer ??= setTimeout(() => this.flush(), this.maxDelayMs);
  }
}

/** One JetStream message: a batch of usage records. */
export interface UsageBatch {
  records: UsageRecord[];
}
