import { randomUUID } from "node:crypto";
import { encodeJson } from "@gatehouse/bus";
import { type UsageRecord, usageSubject } from "@gatehouse/contracts";
import type { Logger } from "@gatehouse/kit";
import type { NatsConnection } from "nats";

/**
 * Collects usage records off the request path and publishes them to JetStream in batches (one
 * stored, acknowledged message per batch instead of one per call). A record waits at most
 * `maxDelayMs` in memory; from JetStream on it survives restarts and database outages.
 */
export class UsagePublisher {
  private queue: UsageRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private batch = 0;
  private readonly instance = randomUUID();
  private inflight = new Set<Promise<void>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly maxBatch = 200,
    private readonly maxDelayMs = 1_000,
    private readonly hooks: {
      onPublished?: (stage: "published" | "publish_failed", count: number) => void;
    } = {},
  ) {}

  /** Records waiting in memory for the next flush. */
  get pending(): number {
    return this.queue.length;
  }

  add(record: UsageRecord): void {
    this.queue.push(record);
    if (this.queue.length >= this.maxBatch) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.maxDelayMs);
  }

  /** Publish what is pending now; resolves once every publish so far was acknowledged or failed. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const records = this.queue;
    this.queue = [];
    if (records.length > 0) {
      const batch: UsageBatch = { records };
      const p = this.nc
        .jetstream()
        .publish(usageSubject(this.prefix), encodeJson(batch), { msgID: `${this.instance}:${++this.batch}` })
        .then(
          () => this.hooks.onPublished?.("published", records.length),
          (err: unknown) => {
            this.hooks.onPublished?.("publish_failed", records.length);
            this.logger.warn({ err, records: records.length }, "usage records not published");
          },
        );
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    }
    return Promise.all([...this.inflight]).then(() => {});
  }
}

/** One JetStream message: a batch of usage records. */
export interface UsageBatch {
  records: UsageRecord[];
}
