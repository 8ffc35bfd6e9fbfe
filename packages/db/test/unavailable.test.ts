import { GatehouseError } from "@gatehouse/contracts";
import { createTestDatabase, type TcpProxy, type TestDatabase } from "@gatehouse/testkit";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, databaseUnavailable, openDatabase } from "../src/index.js";
import { failure, throughProxy } from "./proxied.js";

let testDb: TestDatabase;
let proxy: TcpProxy;
let viaProxy: Database;

beforeAll(async () => {
  testDb = await createTestDatabase();
  ({ proxy, db: viaProxy } = await throughProxy(testDb, 2));
});
afterAll(async () => {
  await viaProxy?.close();
  await proxy?.close();
  await testDb?.drop();
});

describe("a database that cannot be reached", () => {
  it("is a retryable 503 (service_unavailable, Retry-After 1 s); a query's own error is not", async () => {
    const db = viaProxy.drizzle({});
    await db.execute(sql`select 1`);
    const bad = await failure(db.execute(sql`select * from no_such_table`));
    expect(bad).toBeDefined();
    expect(databaseUnavailable(bad)).toBeUndefined();
    expect(databaseUnavailable(new GatehouseError("not_found", "x"))).toBeUndefined();
    expect(databaseUnavailable(new Error("boom"))).toBeUndefined();

    proxy.cut();
    try {
      const cut = await failure(db.execute(sql`select 1`));
      expect(cut).toBeDefined();
      const mapped = databaseUnavailable(cut);
      expect(mapped).toBeInstanceOf(GatehouseError);
      expect(mapped).toMatchObject({ code: "service_unavailable", retryAfterSeconds: 1 });
      expect(mapped?.status).toBe(503);
    } finally {
      proxy.restore();
    }

    const nobody = await openDatabase({ url: "postgres://postgres@127.0.0.1:9/none", maxConnections: 1 });
    try {
      const refused = await failure(nobody.drizzle({}).execute(sql`select 1`));
      expect(databaseUnavailable(refused)).toMatchObject({ code: "service_unavailable" });
    } finally {
      await nobody.close();
    }
  });
});
