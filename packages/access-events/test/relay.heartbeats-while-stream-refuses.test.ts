import { type BusConnection, connectBus, decodeJson } from "@gatehouse/bus";
import { accessEventStreamName, FeedHeartbeat, heartbeatSubject } from "@gatehouse/contracts";
import { type Database, openDatabase } from "@gatehouse/db";
import {
  captureLogger,
  createTestDatabase,
  type TestDatabase,
  testNatsUrl,
  testPrefix,
  waitFor,
} from "@gatehouse/testkit";
import { sql } from "drizzle-orm";
import { pgSchema } from "drizzle-orm/pg-core";
import { DiscardPolicy } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAccessEvent, type OutboxRelay, outboxTable, startOutboxRelay } from "../src/index.js";

const outbox = outboxTable(pgSchema("hb"));
const { logger } = captureLogger("relay-heartbeat-test");
const prefix = testPrefix();
let testDb: TestDatabase;
let database: Database;
let bus: BusConnection;
let relay: OutboxRelay;
const heartbeats: FeedHeartbeat[] = [];

const commit = () =>
  database.drizzle({ outbox }).transaction((tx) =>
    appendAccessEvent(tx, outbox, "acl", {
      type: "team.deleted",
      teamId: "5b0c7c7e-2f5d-4a57-9a55-0f7e0d1c2b3a",
    }),
  );

beforeAll(async () => {
  testDb = await createTestDatabase();
  database = await openDatabase({ url: testDb.url });
  const db = database.drizzle({});
  await db.execute(sql`create schema hb`);
  await db.execute(
    sql`create table hb.outbox (sequence bigint primary key, type text not null, payload jsonb not null, created_at timestamptz not null default now(), published_at timestamptz)`,
  );
  bus = await connectBus({ url: await testNatsUrl(), name: "relay-heartbeat-test", logger });
  bus.nc.subscribe(heartbeatSubject(prefix, "*"), {
    callback: (err, msg) => {
      if (!err) heartbeats.push(FeedHeartbeat.parse(decodeJson(msg.data)));
    },
  });
  relay = startOutboxRelay({
    db: database.drizzle({ outbox }),
    table: outbox,
    source: "acl",
    nc: bus.nc,
    prefix,
    logger,
    pollMs: 50,
  });
});

afterAll(async () => {
  await relay.stop();
  const jsm = await bus.nc.jetstreamManager();
  await jsm.streams.delete(accessEventStreamName(prefix)).catch(() => {});
  await bus.drain();
  await database.close();
  await testDb.drop();
});

describe("outbox relay heartbeats", () => {
  it("say what is committed and what the stream holds, equal when publishing works", async () => {
    const seq = await commit();
    expect(await relay.flush()).toBe(true);
    await waitFor(() => heartbeats.some((h) => h.committedSequence === seq));
    const last = heartbeats.at(-1);
    expect(last).toMatchObject({ source: "acl", committedSequence: seq, publishedSequence: seq });
  });

  it("keep going while JetStream refuses, saying the committed events are not in the stream", async () => {
    const jsm = await bus.nc.jetstreamManager();
    const name = accessEventStreamName(prefix);
    const info = await jsm.streams.info(name);
    await jsm.streams.update(name, {
      ...info.config,
      max_msgs: info.state.messages,
      discard: DiscardPolicy.New,
    });
    const published = info.state.messages;
    const a = await commit();
    const b = await commit();
    expect(await relay.flush()).toBe(false);
    const from = heartbeats.length;
    // Several polls later: still heartbeating, still failing.
    await waitFor(() => heartbeats.length >= from + 3);
    for (const h of heartbeats.slice(from)) {
      expect(h).toMatchObject({ committedSequence: b, publishedSequence: published });
    }

    await jsm.streams.update(name, info.config);
    expect(await relay.flush()).toBe(true);
    await waitFor(() => heartbeats.at(-1)?.publishedSequence === b);
    expect((await jsm.streams.info(name)).state.messages).toBe(published + 2);
    expect(a).toBe(published + 1);
  });
});
