import { encodeJson } from "@gatehouse/bus";
import {
  type AccessEventEnvelope,
  accessEventSubject,
  type EventSource,
  type FeedHeartbeat,
  heartbeatSubject,
} from "@gatehouse/contracts";
import type { Db } from "@gatehouse/db";
import type { Logger } from "@gatehouse/kit";
import { asc, eq, isNull, max, sql } from "drizzle-orm";
import type { NatsConnection } from "nats";
import { ensureAccessEventStream } from "./stream.js";
import type { OutboxTable } from "./table.js";

export interface RelayOptions {
  // biome-ignore lint/suspicious/noExplicitAny: any service's schema; only the outbox table is touched.
  db: Db<any>;
  table: OutboxTable;
  source: EventSource;
  nc: NatsConnection;
  prefix: string;
  logger: Logger;
  /**
   * Backstop poll for rows committed by another replica or left over from a NATS outage; each poll
   * also publishes the feed heartbeat, so keep it well under the followers' lease.
   */
  pollMs?: number;
  batchSize?: number;
}

export interface OutboxRelay {
  /** Publish now (call after committing a transaction that appended events). */
  kick(): void;
  /** Resolves once everything committed before the call has been published. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Moves committed outbox rows to the JetStream stream, in sequence order, each at least once
 * (JetStream drops duplicates by msg id). If NATS is down the rows wait and go out when it returns.
 */
export function startOutboxRelay(options: RelayOptions): OutboxRelay {
  const { db, table, source, nc, prefix } = options;
  const log = options.logger.child({ component: "outbox-relay" });
  const pollMs = options.pollMs ?? 500;
  const batchSize = options.batchSize ?? 200;
  const js = nc.jetstream();
  let streamReady = false;
  let stopped = false;
  let wake: (() => void) | undefined;
  let kicked = false;
  let waiters: Array<() => void> = [];

  async function publishPending(): Promise<boolean> {
    if (!streamReady) {
      await ensureAccessEventStream(await nc.jetstreamManager(), prefix);
      streamReady = true;
    }
    const rows = await db
      .select()
      .from(table)
      .where(isNull(table.publishedAt))
      .orderBy(asc(table.sequence))
      .limit(batchSize);
    for (const row of rows) {
      const envelope: AccessEventEnvelope = {
        source,
        sequence: row.sequence,
        at: row.createdAt,
        event: row.payload,
      };
      await js.publish(accessEventSubject(prefix, source), encodeJson(envelope), {
        msgID: `${source}:${row.sequence}`,
      });
      await db.update(table).set({ publishedAt: sql`now()` }).where(eq(table.sequence, row.sequence));
    }
    return rows.length === batchSize;
  }

  async function publishHeartbeat(): Promise<void> {
    const rows = await db.select({ last: max(table.sequence) }).from(table);
    const heartbeat: FeedHeartbeat = {
      source,
      committedSequence: Number(rows[0]?.last ?? 0),
      at: new Date().toISOString(),
    };
    nc.publish(heartbeatSubject(prefix, source), encodeJson(heartbeat));
  }

  const loop = (async () => {
    while (!stopped) {
      kicked = false;
      const pending = waiters;
      waiters = [];
      try {
        while ((await publishPending()) && !stopped) {
          // full batch: keep going
        }
        for (const w of pending) w();
        await publishHeartbeat();
      } catch (err) {
        waiters.push(...pending);
        log.warn({ err }, "outbox relay could not publish; will retry");
      }
      if (stopped) break;
      if (kicked) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
    for (const w of waiters) w();
  })();

  return {
    kick() {
      kicked = true;
      wake?.();
    },
    flush() {
      return new Promise<void>((resolve) => {
        waiters.push(resolve);
        kicked = true;
        wake?.();
      });
    },
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
