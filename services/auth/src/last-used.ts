import type { Logger } from "@gatehouse/kit";
import { sql } from "drizzle-orm";
import type { AuthDb } from "./context.js";
import { apiKeys } from "./db/schema.js";

/**
 * Keys' last-used times, collected in memory on the validation path and written in one statement
 * per interval: validation never waits on a write, and a busy key costs one row update per flush.
 * A crash loses at most one interval of last-used times, which only inform humans.
 */
export class LastUsedBatcher {
  private pending = new Map<string, Date>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: AuthDb,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  record(keyId: string, at: Date): void {
    this.pending.set(keyId, at);
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const values = sql.join(
      [...batch].map(([id, at]) => sql`(${id}::uuid, ${at.toISOString()}::timestamptz)`),
      sql`, `,
    );
    try {
      await this.db.execute(sql`
        update ${apiKeys} set last_used_at = greatest(coalesce(${apiKeys.lastUsedAt}, v.at), v.at)
        from (values ${values}) as v(id, at)
        where ${apiKeys.id} = v.id`);
    } catch (err) {
      // Keep the newest time per key for the next attempt rather than losing the batch.
      for (const [id, at] of batch) {
        const newer = this.pending.get(id);
        if (!newer || newer < at) this.pending.set(id, at);
      }
      this.logger.warn({ err }, "could not write key last-used times; will retry");
    }
  }
}
