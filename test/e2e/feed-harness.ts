import {
  appendAccessEvent,
  type OutboxRelay,
  type OutboxTable,
  outboxTable,
  startOutboxRelay,
} from "@gatehouse/access-events";
import { type BusConnection, connectBus } from "@gatehouse/bus";
import { type AccessEventBody, accessEventStreamName, type EventSource } from "@gatehouse/contracts";
import { type Database, openDatabase } from "@gatehouse/db";
import { type AccessFeedFollower, createAccessFeed } from "@gatehouse/ingress";
import type { Logger } from "@gatehouse/kit";
import {
  captureLogger,
  createTestDatabase,
  type TestDatabase,
  testNatsUrl,
  testPrefix,
} from "@gatehouse/testkit";
import { sql } from "drizzle-orm";
import { pgSchema } from "drizzle-orm/pg-core";
import { DiscardPolicy, type StreamConfig } from "nats";

export const SOURCES: readonly EventSource[] = ["auth", "acl", "dispatch"];

/**
 * The access feed without the services: one outbox table per source in its own schema, a relay per
 * source, and followers (ingress replicas' feeds) on one NATS connection, all on a fresh prefix.
 */
export class FeedHarness {
  readonly prefix = testPrefix();
  readonly logger: Logger = captureLogger("feed-test").logger;
  readonly tables = new Map<EventSource, OutboxTable>();
  readonly relays = new Map<EventSource, OutboxRelay>();
  readonly followers: AccessFeedFollower[] = [];
  private testDb!: TestDatabase;
  database!: Database;
  bus!: BusConnection;
  private saved: StreamConfig | undefined;

  constructor(readonly leaseMs: number) {}

  async start(): Promise<void> {
    this.testDb = await createTestDatabase();
    this.database = await openDatabase({ url: this.testDb.url });
    const db = this.database.drizzle({});
    for (const source of SOURCES) {
      await db.execute(sql.raw(`create schema ${source}`));
      await db.execute(
        sql.raw(
          `create table ${source}.outbox (sequence bigint primary key, type text not null, payload jsonb not null, created_at timestamptz not null default now(), published_at timestamptz)`,
        ),
      );
      this.tables.set(source, outboxTable(pgSchema(source)));
    }
    this.bus = await connectBus({ url: await testNatsUrl(), name: "feed-test", logger: this.logger });
  }

  table(source: EventSource): OutboxTable {
    const t = this.tables.get(source);
    if (!t) throw new Error(`no outbox for ${source}`);
    return t;
  }

  startRelay(source: EventSource): OutboxRelay {
    const table = this.table(source);
    const relay = startOutboxRelay({
      db: this.database.drizzle({ table }),
      table,
      source,
      nc: this.bus.nc,
      prefix: this.prefix,
      logger: this.logger,
      pollMs: 100,
    });
    this.relays.set(source, relay);
    return relay;
  }

  async stopRelay(source: EventSource): Promise<void> {
    await this.relays.get(source)?.stop();
    this.relays.delete(source);
  }

  async startFollower(): Promise<AccessFeedFollower> {
    const f = createAccessFeed({
      bus: this.bus,
      prefix: this.prefix,
      logger: this.logger,
      leaseMs: this.leaseMs,
      presenceIntervalMs: 100,
    });
    await f.start();
    this.followers.push(f);
    return f;
  }

  /** Commit an access event for `source` (as a revoking service does) and wake its relay. */
  async commit(source: EventSource, event: AccessEventBody = { type: "keys.all_revoked" }): Promise<number> {
    const table = this.table(source);
    const seq = await this.database
      .drizzle({ table })
      .transaction((tx) => appendAccessEvent(tx, table, source, event));
    this.relays.get(source)?.kick();
    return seq;
  }

  /** Make the stream refuse every publish (full, `discard: new`) while core NATS keeps working. */
  async refusePublishes(): Promise<void> {
    const jsm = await this.bus.nc.jetstreamManager();
    const info = await jsm.streams.info(accessEventStreamName(this.prefix));
    this.saved = info.config;
    await jsm.streams.update(info.config.name, {
      ...info.config,
      max_msgs: Math.max(1, info.state.messages),
      discard: DiscardPolicy.New,
    });
  }

  async acceptPublishes(): Promise<void> {
    if (!this.saved) return;
    const jsm = await this.bus.nc.jetstreamManager();
    await jsm.streams.update(this.saved.name, this.saved);
    this.saved = undefined;
  }

  async stop(): Promise<void> {
    for (const source of [...this.relays.keys()]) await this.stopRelay(source);
    for (const f of this.followers) await f.stop();
    const jsm = await this.bus.nc.jetstreamManager();
    await jsm.streams.delete(accessEventStreamName(this.prefix)).catch(() => {});
    await this.bus.drain();
    await this.database.close();
    await this.testDb.drop();
  }
}
