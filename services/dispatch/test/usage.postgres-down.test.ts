import { fileURLToPath } from "node:url";
import { type BusConnection, connectBus } from "@gatehouse/bus";
import { type UsageRecord, usageStreamName } from "@gatehouse/contracts";
import { type Database, openDatabase } from "@gatehouse/db";
import {
  captureLogger,
  createTestDatabase,
  startTcpProxy,
  type TcpProxy,
  type TestDatabase,
  testNatsUrl,
  testPrefix,
  usageRecord,
  waitFor,
} from "@gatehouse/testkit";
import { count, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usageRecords } from "../src/db/usage-schema.js";
import { UsagePublisher } from "../src/invoke/usage.js";
import { startUsageConsumer, type UsageConsumer } from "../src/usage/consumer.js";

const migrationsFolder = fileURLToPath(new URL("../migrations", import.meta.url));
const { logger } = captureLogger("usage-test");
const prefix = testPrefix();
let testDb: TestDatabase;
let proxy: TcpProxy;
let viaProxy: Database;
let direct: Database;
let bus: BusConnection;
let consumer: UsageConsumer;
let usage: UsagePublisher;

const record = (): UsageRecord => usageRecord();

async function stored(): Promise<number> {
  const rows = await direct.drizzle({ usageRecords }).select({ n: count() }).from(usageRecords);
  return rows[0]?.n ?? 0;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  const url = new URL(testDb.url);
  proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
  url.port = String(proxy.port);
  direct = await openDatabase({ url: testDb.url });
  await direct.migrate({ folder: migrationsFolder, service: "dispatch" });
  viaProxy = await openDatabase({ url: url.toString(), maxConnections: 2 });
  bus = await connectBus({ url: await testNatsUrl(), name: "usage-test", logger });
  usage = new UsagePublisher(bus.nc, prefix, logger, 8, 20);
  consumer = await startUsageConsumer({
    nc: bus.nc,
    prefix,
    db: viaProxy.drizzle({ usageRecords }),
    logger,
    retryDelayMs: 200,
  });
});

afterAll(async () => {
  await usage?.flush();
  await consumer?.stop();
  const jsm = await bus.nc.jetstreamManager();
  await jsm.streams.delete(usageStreamName(prefix)).catch(() => {});
  await bus.drain();
  await viaProxy.close();
  await direct.close();
  await proxy.close();
  await testDb.drop();
});

describe("usage records", () => {
  it("are stored from the usage stream", async () => {
    for (let i = 0; i < 5; i++) usage.add(record());
    await waitFor(async () => (await stored()) === 5, 5_000);
  });

  it("keep every field, including a call without usage", async () => {
    const withUsage = record();
    const without: UsageRecord = { ...record(), status: 499, stream: true, usage: null, durationMs: 7.6 };
    usage.add(withUsage);
    usage.add(without);
    await usage.flush();
    const read = async (id: string) =>
      (
        await direct
          .drizzle({ usageRecords })
          .select()
          .from(usageRecords)
          .where(eq(usageRecords.requestId, id))
      )[0];
    await waitFor(async () => (await read(without.requestId)) !== undefined, 5_000);
    const a = await read(withUsage.requestId);
    expect(a).toMatchObject({
      account: "openai-main",
      model: "gpt-4o-mini",
      operation: "chat",
      principalKind: "virtual_account",
      principalId: withUsage.principal.id,
      keyId: withUsage.keyId,
      status: 200,
      stream: false,
      promptTokens: 3,
      completionTokens: 5,
      totalTokens: 8,
      durationMs: 12,
    });
    expect(new Date(a?.at ?? 0).toISOString()).toBe(withUsage.at);
    expect(await read(without.requestId)).toMatchObject({
      status: 499,
      stream: true,
      promptTokens: null,
      completionTokens: null,
      totalTokens: null,
      durationMs: 8,
    });
  });

  it("are not lost while Postgres is unreachable, and land once it is back", async () => {
    proxy.cut();
    for (let i = 0; i < 20; i++) usage.add(record());
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await stored()).toBe(7);
    proxy.restore();
    await waitFor(async () => (await stored()) === 27, 10_000);
  });

  it("are stored once even if a record is published twice", async () => {
    const r = record();
    usage.add(r);
    await usage.flush();
    usage.add(r);
    await waitFor(async () => (await stored()) === 28, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await stored()).toBe(28);
  });
});

describe("usage records an upstream made impossible", () => {
  it("a record that fails its schema is dropped alone; the rest of its batch is stored", async () => {
    const before = await stored();
    const good = [record(), record()];
    // Counts no provider can have spent (an upstream's own numbers): not a UsageRecord.
    const bad = { ...record(), usage: { promptTokens: -3, completionTokens: 1.5, totalTokens: 0 } };
    usage.add(good[0] as UsageRecord);
    usage.add(bad as UsageRecord);
    usage.add(good[1] as UsageRecord);
    await waitFor(async () => (await stored()) === before + 2, 5_000);
    const ids = await direct
      .drizzle({ usageRecords })
      .select({ id: usageRecords.id })
      .from(usageRecords)
      .where(eq(usageRecords.id, bad.id as string));
    expect(ids).toEqual([]);
  });
});
