import { createTestDatabase, lockTable, type TcpProxy, type TestDatabase } from "@gatehouse/testkit";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { boundedTransaction, type Database, isDatabaseTimeout, openDatabase } from "../src/index.js";
import { failure, throughProxy } from "./proxied.js";

// boundedTransaction holds a consumer's database work to a time it can hand back to JetStream:
// a statement waiting on a lock is cancelled by Postgres, and a connection that no longer answers
// at all is given up on by a timer a second later.
let testDb: TestDatabase;
let direct: Database;
let proxy: TcpProxy;
let viaProxy: Database;

beforeAll(async () => {
  testDb = await createTestDatabase();
  direct = await openDatabase({ url: testDb.url, maxConnections: 2 });
  await direct.drizzle({}).execute(sql`CREATE TABLE held (id int)`);
  ({ proxy, db: viaProxy } = await throughProxy(testDb, 1));
});
afterAll(async () => {
  await direct?.close();
  proxy?.restore();
  await viaProxy?.close();
  await proxy?.close();
  await testDb?.drop();
});

describe("boundedTransaction", () => {
  it("answers what the work answers when the database does", async () => {
    const rows = await boundedTransaction(direct.drizzle({}), 1_000, (tx) =>
      tx.execute(sql`SELECT current_setting('statement_timeout') AS t`),
    );
    expect([...(rows as unknown as Iterable<unknown>)]).toEqual([{ t: "1s" }]);
  });

  it("ends a statement waiting on a lock, releasing its connection: a timeout, and the transaction rolled back", async () => {
    const lock = await lockTable(testDb.url, "public.held");
    try {
      const err = await failure(
        boundedTransaction(direct.drizzle({}), 300, async (tx) => {
          await tx.execute(sql`INSERT INTO held VALUES (1)`);
        }),
      );
      expect(isDatabaseTimeout(err)).toBe(true);
    } finally {
      await lock.release();
    }
    const rows = await direct.drizzle({}).execute(sql`SELECT count(*)::int AS n FROM held`);
    expect([...(rows as unknown as Iterable<unknown>)]).toEqual([{ n: 0 }]);
  });

  it("gives up on a connection that no longer answers at all", async () => {
    await viaProxy.drizzle({}).execute(sql`SELECT 1`);
    proxy.stall();
    const err = await failure(
      boundedTransaction(viaProxy.drizzle({}), 200, (tx) => tx.execute(sql`SELECT 1`)),
    );
    expect(isDatabaseTimeout(err)).toBe(true);
    expect((err as Error).name).toBe("DatabaseTimeoutError");
  });

  it("leaves the pooled connection as it found it: no statement timeout, no transaction still open", async () => {
    // The one connection of the proxied pool: after the stall above (if run alone, none), the
    // connection the backstop gave up on is gone with its transaction once the socket is.
    proxy.restore();
    const db = viaProxy.drizzle({});
    await boundedTransaction(db, 300, (tx) => tx.execute(sql`SELECT 1`));
    const rows = await db.execute(
      sql`SELECT current_setting('statement_timeout') AS t, now() = statement_timestamp() AS own`,
    );
    // SET LOCAL, not SET: the setting ended with its transaction; and this statement runs in a
    // transaction of its own (now() is its start), not inside one the timer gave up on.
    expect([...(rows as unknown as Iterable<unknown>)]).toEqual([{ t: "0", own: true }]);
  });
});
