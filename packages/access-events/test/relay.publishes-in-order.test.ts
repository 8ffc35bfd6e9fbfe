import { type BusConnection, connectBus, decodeJson } from "@gatehouse/bus";
import { AccessEventEnvelope, accessEventStreamName } from "@gatehouse/contracts";
import { type Database, openDatabase } from "@gatehouse/db";
import {
  captureLogger,
  createTestDatabase,
  type TestDatabase,
  testNatsUrl,
  testPrefix,
} from "@gatehouse/testkit";
import { sql } from "drizzle-orm";
import { pgSchema } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAccessEvent, outboxTable, startOutboxRelay } from "../src/index.js";

const schema = pgSchema("obx");
const outbox = outboxTable(schema);
const { logger } = captureLogger("outbox-test");
const prefix = testPrefix();
let testDb: TestDatabase;
let database: Database;
let bus: BusConnection;

beforeAll(async () => {
  testDb = await createTestDatabase();
  database = await openDatabase({ url: testDb.url });
  const db = database.drizzle({});
  await db.execute(sql`create schema obx`);
  await db.execute(
    sql`create table obx.outbox (sequence bigint primary key, type text not null, payload jsonb not null, created_at timestamptz not null default now(), published_at timestamptz)`,
  );
  bus = await connectBus({ url: await testNatsUrl(), name: "outbox-test", logger });
});

afterAll(async () => {
  const jsm = await bus.nc.jetstreamManager();
  await jsm.streams.delete(accessEventStreamName(prefix)).catch(() => {});
  await bus.drain();
  await database.close();
  await testDb.drop();
});

const userId = "7d3c4a51-6a8e-4c1e-9b0e-1f2a3b4c5d6e";

describe("outbox", () => {
  it("assigns gap-free sequences in commit order, none for rolled-back transactions", async () => {
    const db = database.drizzle({ outbox });
    await db.transaction((tx) => appendAccessEvent(tx, outbox, "auth", { type: "user.deactivated", userId }));
    await db
      .transaction(async (tx) => {
        await appendAccessEvent(tx, outbox, "auth", { type: "keys.all_revoked" });
        throw new Error("roll back");
      })
      .catch(() => {});
    await Promise.all(
      [1, 2, 3, 4, 5].map(() =>
        db.transaction((tx) => appendAccessEvent(tx, outbox, "auth", { type: "user.keys_revoked", userId })),
      ),
    );
    const rows = await db.select({ sequence: outbox.sequence }).from(outbox).orderBy(outbox.sequence);
    expect(rows.map((r) => r.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("relays committed events to the stream in order, once each", async () => {
    const db = database.drizzle({ outbox });
    const relay = startOutboxRelay({
      db,
      table: outbox,
      source: "auth",
      nc: bus.nc,
      prefix,
      logger,
      pollMs: 50,
    });
    await relay.flush();
    // A second relay (another replica) must not duplicate anything in the stream.
    await db.update(outbox).set({ publishedAt: null });
    const second = startOutboxRelay({
      db,
      table: outbox,
      source: "auth",
      nc: bus.nc,
      prefix,
      logger,
      pollMs: 50,
    });
    await second.flush();
    await relay.stop();
    await second.stop();

    const jsm = await bus.nc.jetstreamManager();
    const info = await jsm.streams.info(accessEventStreamName(prefix));
    expect(info.state.messages).toBe(6);
    const js = bus.nc.jetstream();
    const sequences: number[] = [];
    for (let seq = 1; seq <= 6; seq++) {
      const msg = await jsm.streams.getMessage(accessEventStreamName(prefix), { seq });
      sequences.push(AccessEventEnvelope.parse(decodeJson(msg.data)).sequence);
    }
    expect(js).toBeDefined();
    expect(sequences).toEqual([1, 2, 3, 4, 5, 6]);
    const unpublished = await db.execute(
      sql`select count(*)::int as n from obx.outbox where published_at is null`,
    );
    expect(JSON.stringify(unpublished)).toContain('"n":0');
  });
});
