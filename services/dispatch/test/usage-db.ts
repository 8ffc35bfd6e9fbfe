import { fileURLToPath } from "node:url";
import { type BusConnection, connectBus } from "@gatehouse/bus";
import { usageStreamName } from "@gatehouse/contracts";
import { type Database, openDatabase } from "@gatehouse/db";
import { createTestDatabase, type TestDatabase, testNatsUrl, testPrefix } from "@gatehouse/testkit";
import { afterAll, beforeAll } from "vitest";
import { usageRecords } from "../src/db/usage-schema.js";
import { startUsageConsumer, type UsageConsumer, type UsageConsumerOptions } from "../src/usage/consumer.js";

/** A database of its own with dispatch's migrations applied (usage tables, accounts). */
export async function migratedDatabase(): Promise<{ database: TestDatabase; opened: Database }> {
  const database = await createTestDatabase();
  const opened = await openDatabase({ url: database.url, maxConnections: 2 });
  await opened.migrate({
    folder: fileURLToPath(new URL("../migrations", import.meta.url)),
    service: "dispatch",
  });
  return { database, opened };
}

/** dispatch's usage consumer on a migrated database of its own, for one file's tests (`usageStoreForFile`). */
export interface UsageStoreFixture {
  readonly prefix: string;
  readonly opened: Database;
  readonly bus: BusConnection;
  readonly consumer: UsageConsumer;
  /** The ids of the usage records stored so far. */
  storedIds(): Promise<string[]>;
}

/**
 * Starts dispatch's usage consumer before the file's tests, on a migrated database of its own (after
 * `prepare` ran on it: test-only constraints, say) and a subject prefix of its own; stops it, deletes
 * the stream and drops the database after them. The fields are there once the tests run.
 */
export function usageStoreForFile(
  name: string,
  options: Pick<UsageConsumerOptions, "logger" | "retryDelayMs" | "onStored">,
  prepare: (opened: Database) => Promise<void> = async () => {},
): UsageStoreFixture {
  const prefix = testPrefix();
  let database: TestDatabase | undefined;
  let opened: Database | undefined;
  let bus: BusConnection | undefined;
  let consumer: UsageConsumer | undefined;
  beforeAll(async () => {
    ({ database, opened } = await migratedDatabase());
    await prepare(opened);
    bus = await connectBus({ url: await testNatsUrl(), name, logger: options.logger });
    consumer = await startUsageConsumer({
      nc: bus.nc,
      prefix,
      db: opened.drizzle({ usageRecords }),
      ...options,
    });
  });
  afterAll(async () => {
    await consumer?.stop();
    const jsm = await bus?.nc.jetstreamManager();
    await jsm?.streams.delete(usageStreamName(prefix)).catch(() => {});
    await bus?.drain();
    await opened?.close();
    await database?.drop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the usage consumer is not started yet: use it inside a test");
    return value;
  };
  return {
    prefix,
    get opened() {
      return started(opened);
    },
    get bus() {
      return started(bus);
    },
    get consumer() {
      return started(consumer);
    },
    async storedIds() {
      const rows = await started(opened)
        .drizzle({ usageRecords })
        .select({ id: usageRecords.id })
        .from(usageRecords);
      return rows.map((r) => r.id);
    },
  };
}
