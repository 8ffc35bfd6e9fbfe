import { accessEventStream, encodeJson, ensureStream } from "@gatehouse/bus";
import {
  type AccessEventEnvelope,
  accessEventSubject,
  type EventSource,
  type FeedHeartbeat,
  heartbeatSubject,
} from "@gatehouse/contracts";
import type { Db } from "@gatehouse/db";
import type { Logger } from "@gatehouse/kit";
import { and, asc, eq, isNull, lte, max, sql } from "drizzle-orm";
import type { NatsConnection } from "nats";
import type { OutboxTable } from "./table.js";

/** How often an idle relay makes sure the access-event stream still exists. */
const STREAM_RECHECK_MS = 10_000;

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
  /**
   * Try to publish everything committed before the call: true once it is in the stream, false when
   * the attempt failed (JetStream refused, NATS down); the heartbeat saying so has gone out by then.
   */
  flush(): Promise<boolean>;
  stop(): Promise<void>;
}

/** Where one source's outbox stands: what is committed, and how much of it the stream holds. */
interface Progress {
  committed: number;
  published: number;
}

/**
 * Moves committed outbox rows to the JetStream stream, in sequence order, each at least once
 * (JetStream drops duplicates by msg id). If NATS is down the rows wait and go out when it returns.
 *
 * Every pass ends with a heartbeat on core NATS, also when publishing failed: followers must learn
 * that this source committed events the stream does not hold (and stop trusting their caches at
 * once), not merely stop hearing it. The committed sequence is read once at the start of the pass
 * and only rows up to it are published, so a successful pass reports `published = committed`: a
 * commit racing the pass never makes a heartbeat look like a failure.
 */
export function startOutboxRelay(options: RelayOptions): OutboxRelay {
  const { db, table, source, nc, prefix } = options;
  const log = options.logger.child({ component: "outbox-relay" });
  const pollMs = options.pollMs ?? 500;
  const batchSize = options.batchSize ?? 200;
  const js = nc.jetstream();
  let streamReady = false;
  let streamCheckedAt = 0;
  let stopped = false;
  let wake: (() => void) | undefined;
  let kicked = false;
  let waiters: Array<(published: boolean) => void> = [];

  async function progress(): Promise<Progress> {
    // Both are index lookups (primary key, partial index on unpublished rows): the outbox is never
    // pruned, and an aggregate with a FILTER would scan all of it on every pass.
    const rows = await db
      .select({
        committed: max(table.sequence),
        firstUnpublished: sql<
          string | null
        >`(select min(${table.sequence}) from ${table} where ${table.publishedAt} is null)`,
      })
      .from(table);
    const committed = Number(rows[0]?.committed ?? 0);
    const first = rows[0]?.firstUnpublished;
    return { committed, published: first == null ? committed : Number(first) - 1 };
  }

  /** Publish unpublished rows up to `p.committed`, advancing `p.published` row by row. */
  async function publishUpTo(p: Progress): Promise<void> {
    // Looked at again now and then: a stream an operator deleted is made again even while nothing
    // is published (followers wait for it; they may not create it).
    if (!streamReady || Date.now() - streamCheckedAt > STREAM_RECHECK_MS) {
      await ensureStream(await nc.jetstreamManager(), accessEventStream(prefix));
      streamReady = true;
      streamCheckedAt = Date.now();
    }
    while (p.published < p.committed && !stopped) {
      const rows = await db
        .select()
        .from(table)
        .where(and(isNull(table.publishedAt), lte(table.sequence, p.committed)))
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
          msgID: `${source}:${row.sequence}:${row.createdAt}`,
        });
        await db.update(table).set({ publishedAt: sql`now()` }).where(eq(table.sequence, row.sequence));
        // Sequences have no gaps and rows go out in order: everything up to this one is in the stream.
        p.published = row.sequence;
      }
      if (rows.length < batchSize) p.published = p.committed;
    }
  }

  function publishHeartbeat(p: Progress): void {
    const heartbeat: FeedHeartbeat = {
      source,
      committedSequence: p.committed,
      publishedSequence: p.published,
      at: new Date().toISOString(),
    };
    try {
      nc.publish(heartbeatSubject(prefix, source), encodeJson(heartbeat));
    } catch (err) {
      log.warn({ err }, "could not publish the feed heartbeat");
    }
  }

  const loop = (async () => {
    while (!stopped) {
      kicked = false;
      const pending = waiters;
      waiters = [];
      let published = false;
      try {
        // Without the committed sequence there is nothing true to say: no heartbeat, and followers
        // stop trusting when the lease runs out (the database is down; auth cannot answer either).
        const p = await progress();
        try {
          await publishUpTo(p);
          published = p.published >= p.committed;
        } catch (err) {
          // The stream may be gone (deleted by an operator): make sure of it again on the next pass.
          streamReady = false;
          log.warn(
            { err, committed: p.committed, published: p.published },
            "outbox relay could not publish; will retry",
          );
        }
        publishHeartbeat(p);
      } catch (err) {
        log.warn({ err }, "outbox relay could not read the outbox; will retry");
      }
      for (const w of pending) w(published);
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
    for (const w of waiters) w(false);
  })();

  return {
    kick() {
      kicked = true;
      wake?.();
    },
    flush() {
      return new Promise<boolean>((resolve) => {
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
