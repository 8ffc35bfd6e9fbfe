import { fileURLToPath } from "node:url";
import { createTestDatabase, type TestDatabase } from "@gatehouse/testkit";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/index.js";

const folder = fileURLToPath(new URL("./fixtures/migrations", import.meta.url));
let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.drop();
});

describe("migrations", () => {
  it("apply once when several replicas start together", async () => {
    const replicas = await Promise.all(
      [1, 2, 3, 4].map(() => openDatabase({ url: testDb.url, maxConnections: 2 })),
    );
    try {
      await Promise.all(replicas.map((r) => r.migrate({ folder, service: "fixture" })));
      const db = replicas[0]?.drizzle({});
      const rows = await db?.execute(
        sql`select count(*)::int as n from gatehouse_migrations.fixture_migrations`,
      );
      expect(rows).toBeDefined();
      expect(JSON.stringify(rows)).toContain('"n":1');
      await db?.execute(sql`insert into fixture.things (name) values ('a')`);
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });

  // PGlite (Postgres in WebAssembly) boots in seconds on a quiet machine, far longer on a loaded one.
  it("run on embedded PGlite too", { timeout: 180_000 }, async () => {
    const local = await openDatabase({});
    try {
      await local.migrate({ folder, service: "fixture" });
      await local.migrate({ folder, service: "fixture" });
      expect(local.kind).toBe("pglite");
      expect(await local.ping()).toBe(true);
      await local.drizzle({}).execute(sql`insert into fixture.things (name) values ('b')`);
    } finally {
      await local.close();
    }
  });
});
