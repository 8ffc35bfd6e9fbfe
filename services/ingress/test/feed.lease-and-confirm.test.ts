import { type BusConnection, connectBus } from "@gatehouse/bus";
import { type AccessEventEnvelope, accessEventStreamName } from "@gatehouse/contracts";
import { type Database, openDatabase } from "@gatehouse/db";
import {
  appendAccessEvent,
  IngressRoster,
  type OutboxRelay,
  outboxTable,
  startOutboxRelay,
} from "@gatehouse/outbox";
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
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccessFeedFollower, createAccessFeed } from "../src/events/follower.js";

const outbox = outboxTable(pgSchema("auth"));
const { logger } = captureLogger("feed-test");
const prefix = testPrefix();
const LEASE_MS = 600;
let testDb: TestDatabase;
let database: Database;
let bus: BusConnection;
let relay: OutboxRelay | undefined;
const followers: AccessFeedFollower[] = [];
const userId = "0b6f1f9e-2c43-4f7e-8d5a-3a1b2c3d4e5f";

async function revoke(): Promise<number> {
  const db = database.drizzle({ outbox });
  const seq = await db.transaction((tx) =>
    appendAccessEvent(tx, outbox, "auth", { type: "user.deactivated", userId }),
  );
  relay?.kick();
  return seq;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  database = await openDatabase({ url: testDb.url });
  const db = database.drizzle({});
  await db.execute(sql`create schema auth`);
  await db.execute(
    sql`create table auth.outbox (sequence bigint primary key, type text not null, payload jsonb not null, created_at timestamptz not null default now(), published_at timestamptz)`,
  );
  bus = await connectBus({ url: await testNatsUrl(), name: "feed-test", logger });
  for (let i = 0; i < 3; i++) {
    const f = createAccessFeed({ bus, prefix, logger, leaseMs: LEASE_MS, presenceIntervalMs: 100 });
    await f.start();
    followers.push(f);
  }
});

afterAll(async () => {
  await relay?.stop();
  for (const f of followers) await f.stop();
  const jsm = await bus.nc.jetstreamManager();
  await jsm.streams.delete(accessEventStreamName(prefix)).catch(() => {});
  await bus.drain();
  await database.close();
  await testDb.drop();
});

describe("access feed", () => {
  it("does not trust cached positives before it hears the feed", () => {
    for (const f of followers) expect(f.trusted()).toBe(false);
  });

  it("trusts them once the relay's heartbeat arrives", async () => {
    relay = startOutboxRelay({
      db: database.drizzle({ outbox }),
      table: outbox,
      source: "auth",
      nc: bus.nc,
      prefix,
      logger,
      pollMs: 100,
    });
    await waitFor(() => followers.every((f) => f.trusted()), 3_000);
  });

  it("applies events in order on every replica and moves the epoch", async () => {
    const seen: AccessEventEnvelope[][] = followers.map(() => []);
    const offs = followers.map((f, i) => f.onEvent((e) => seen[i]?.push(e)));
    const epochs = followers.map((f) => f.epoch());
    const a = await revoke();
    const b = await revoke();
    await waitFor(() => seen.every((s) => s.length === 2), 3_000);
    for (const s of seen) expect(s.map((e) => e.sequence)).toEqual([a, b]);
    followers.forEach((f, i) => {
      expect(f.epoch()).toBeGreaterThan(epochs[i] ?? 0);
    });
    for (const off of offs) off();
  });

  it("confirms a revoke once every live replica applied it", async () => {
    const roster = new IngressRoster(bus.nc, prefix, LEASE_MS, 100);
    await waitFor(() => roster.live().length === 3, 2_000);
    const seq = await revoke();
    const propagation = await roster.confirm("auth", seq);
    expect(propagation).toMatchObject({ sequence: seq, replicas: 3, confirmed: 3, complete: true });
    for (const f of followers) expect(f.applied().auth).toBeGreaterThanOrEqual(seq);
    await roster.close();
  });

  it("drops cached positives on a sequence gap", async () => {
    const f = followers[0] as AccessFeedFollower;
    let resets = 0;
    const off = f.onReset(() => resets++);
    const db = database.drizzle({ outbox });
    // Simulate a lost message: skip a sequence by committing a row the relay never publishes.
    const last = f.applied().auth ?? 0;
    await db.execute(sql`update auth.outbox set published_at = now() where sequence <= ${last}`);
    await db.execute(
      sql`insert into auth.outbox (sequence, type, payload, published_at) values (${last + 1}, 'keys.all_revoked', '{"type":"keys.all_revoked"}', now())`,
    );
    await revoke();
    await waitFor(() => resets > 0, 3_000);
    off();
  });

  it("stops trusting cached positives when the feed goes quiet for the lease", async () => {
    await relay?.stop();
    relay = undefined;
    await waitFor(() => followers.every((f) => !f.trusted()), LEASE_MS * 4);
  });
});
