import {
  decodeJson,
  ensureDurable,
  ensureStream,
  PULL_EXPIRES_MS,
  pullMessages,
  usageStream,
} from "@gatehouse/bus";
import { UsageRecord } from "@gatehouse/contracts";
import { type Db, refusedForARow } from "@gatehouse/db";
import type { Logger } from "@gatehouse/kit";
import type { ConsumerMessages, JsMsg, NatsConnection } from "nats";
import { z } from "zod";
import { insertUsageRows, toRow, type UsageRow } from "../db/usage-insert.js";
import { addTeams, type TeamsOf } from "./teams.js";

export interface UsageConsumerOptions {
  nc: NatsConnection;
  prefix: string;
  // biome-ignore lint/suspicious/noExplicitAny: only the usage table is touched.
  db: Db<any>;
  logger: Logger;
  batchSize?: number;
  /**
   * How long a record waits before redelivery after the database refused it (2.5 s: 2 s plus half a
   * pull, so that it comes due while a pull is open — see `redeliveryDelayMs` in the bus).
   */
  retryDelayMs?: number;
  /** Users' teams (acl's data), recorded on their records; without it records carry no teams. */
  teamsOf?: TeamsOf;
  /**
   * Hears how many records each store committed, saw refused (to be redelivered), or set aside for
   * good (Postgres refuses the row itself, or it fails its schema) (metrics).
   */
  onStored?: (stage: "stored" | "store_failed" | "rejected", count: number) => void;
}

export interface UsageConsumer {
  /** Messages (batches) in the stream this consumer has not stored yet: waiting or being stored. */
  unstored(): Promise<number>;
  stop(): Promise<void>;
}

const DURABLE = "dispatch-usage";

/**
 * A stream message carries a batch of records (see UsagePublisher), each checked on its own: one
 * record that fails its schema (an upstream's impossible counts, say) costs that record, never the
 * other calls batched with it.
 */
const UsageMessage = z.object({ records: z.array(z.unknown()).max(10_000) });

/**
 * Stores usage records from the JetStream usage stream. A message is acked only after its row is
 * committed; when Postgres is down the batch is nak'ed with a delay and JetStream keeps it, so no
 * record is lost to a brief database outage.
 */
export async function startUsageConsumer(options: UsageConsumerOptions): Promise<UsageConsumer> {
  const { nc, prefix, db } = options;
  const log = options.logger.child({ component: "usage-consumer" });
  const batchSize = options.batchSize ?? 200;
  const retryDelayMs = options.retryDelayMs ?? 2_000 + PULL_EXPIRES_MS / 2;
  const stream = await ensureStream(await nc.jetstreamManager(), usageStream(prefix));
  const jsm = await nc.jetstreamManager();
  await ensureDurable(jsm, stream, DURABLE, { maxAckPending: 10_000, ackWaitMs: 30_000 });
  const consumer = await nc.jetstream().consumers.get(stream, DURABLE);
  let stopped = false;
  let messages: ConsumerMessages | undefined;

  async function store(batch: JsMsg[]): Promise<void> {
    const rows: UsageRow[] = [];
    const valid: JsMsg[] = [];
    for (const m of batch) {
      const parsed = UsageMessage.safeParse(safeJson(m.data));
      if (!parsed.success) {
        log.warn({ seq: m.seq }, "dropping a malformed usage message");
        m.term();
        continue;
      }
      valid.push(m);
      let dropped = 0;
      for (const raw of parsed.data.records) {
        const r = UsageRecord.safeParse(raw);
        if (r.success) rows.push(toRow(r.data));
        else dropped++;
      }
      if (dropped > 0) {
        log.warn({ seq: m.seq, records: dropped }, "dropping usage records that fail their schema");
        options.onStored?.("rejected", dropped);
      }
    }
    if (rows.length === 0) {
      for (const m of valid) m.ack();
      return;
    }
    if (options.teamsOf) await addTeams(rows, options.teamsOf, log);
    try {
      await db.execute(insertUsageRows(rows));
    } catch (err) {
      if (refusedForARow(err) === undefined) return redeliver(valid, rows.length, err);
      // One row Postgres refuses for what it holds is refused on every redelivery: find it (them)
      // by storing the rows one by one, and set those aside rather than block their batch forever.
      const refused: Array<{ id: string; sqlstate: string }> = [];
      for (const row of rows) {
        try {
          await db.execute(insertUsageRows([row]));
        } catch (rowErr) {
          const sqlstate = refusedForARow(rowErr);
          // A transient failure half-way: everything again later (a row stored already counts once).
          if (sqlstate === undefined) return redeliver(valid, rows.length, rowErr);
          refused.push({ id: row.id, sqlstate });
        }
      }
      if (refused.length > 0) {
        // Ids and SQLSTATEs only: the error's message and detail quote the row's values.
        log.error(
          { records: refused },
          "usage records Postgres refuses for what they hold: set aside, not stored",
        );
        options.onStored?.("rejected", refused.length);
      }
      options.onStored?.("stored", rows.length - refused.length);
      for (const m of valid) m.ack();
      return;
    }
    for (const m of valid) m.ack();
    options.onStored?.("stored", rows.length);
  }

  /**
   * `store`, on every path (the 50 ms timer's too): whatever it throws (a callback, an ack on a
   * closed connection) is logged and counted, and what it did not ack goes back to JetStream. A
   * rejection left on the timer's promise went unhandled (Node's default ends the process) and
   * turned every later store of the pull into a no-op, their messages held until the ack wait.
   */
  async function storeOrRedeliver(batch: JsMsg[]): Promise<void> {
    try {
      await store(batch);
    } catch (err) {
      const records = batch.reduce((n, m) => n + recordsIn(m), 0);
      log.error(
        { err, messages: batch.length, records },
        "storing usage records failed; JetStream will redeliver",
      );
      try {
        options.onStored?.("store_failed", records);
      } catch {
        // the error above is logged already
      }
      // A message acked already ignores this; one that cannot be nak'ed comes back after the ack wait.
      for (const m of batch) {
        try {
          m.nak(retryDelayMs);
        } catch {
          // the connection is gone: JetStream redelivers after the ack wait
        }
      }
    }
  }

  function redeliver(valid: JsMsg[], records: number, err: unknown): void {
    options.onStored?.("store_failed", records);
    log.warn({ err, records }, "could not store usage records; JetStream will redeliver");
    for (const m of valid) m.nak(retryDelayMs);
  }

  const loop = (async () => {
    while (!stopped) {
      try {
        // A bounded pull (a batch, or what comes within PULL_EXPIRES_MS), and the next one only once all
        // of it is stored: behind a slow database messages wait in JetStream, not in this process.
        // (consume() pulls more as messages arrive, read or not: behind a hung store they, and their
        // redeliveries after the ack wait, piled up here without bound.) Within the pull, what has
        // arrived is stored 50 ms after its first message, one store at a time.
        messages = await pullMessages(consumer, batchSize);
        let batch: JsMsg[] = [];
        let timer: NodeJS.Timeout | undefined;
        let stored = Promise.resolve();
        const flush = () => {
          clearTimeout(timer);
          timer = undefined;
          const current = batch;
          batch = [];
          if (current.length > 0) stored = stored.then(() => storeOrRedeliver(current));
          return stored;
        };
        for await (const m of messages) {
          batch.push(m);
          timer ??= setTimeout(() => void flush(), 50);
        }
        await flush();
      } catch (err) {
        if (!stopped) {
          log.warn({ err }, "usage consumer restarting");
          await new Promise((r) => setTimeout(r, 1_000));
        }
      }
    }
  })();

  return {
    async unstored() {
      const info = await consumer.info();
      return info.num_pending + info.num_ack_pending;
    },
    async stop() {
      stopped = true;
      await messages?.close();
      await loop;
    },
  };
}

/** How many records a message holds (0 when it is malformed). */
function recordsIn(m: JsMsg): number {
  const parsed = UsageMessage.safeParse(safeJson(m.data));
  return parsed.success ? parsed.data.records.length : 0;
}

function safeJson(data: Uint8Array): unknown {
  try {
    return decodeJson(data);
  } catch {
    return undefined;
  }
}
