import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase, PGLITE_SETTINGS } from "../src/index.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const rssMb = () => process.memoryUsage().rss / 1024 / 1024;

// PGlite (Postgres in WebAssembly) boots in seconds on a quiet machine, far longer on a loaded one.
describe("embedded PGlite", { timeout: 240_000 }, () => {
  it("starts on a new data directory with the small buffer pool, and without keeping initdb's memory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-pglite-"));
    dirs.push(dir);
    const before = rssMb();
    const database = await openDatabase({ pgliteDir: join(dir, "data") });
    try {
      const db = database.drizzle({});
      for (const [name, value] of Object.entries(PGLITE_SETTINGS)) {
        const rows = (await db.execute(sql.raw(`show ${name}`))) as unknown as {
          rows: Record<string, string>[];
        };
        expect(rows.rows[0]?.[name]).toBe(value);
      }
      expect(PGLITE_SETTINGS.shared_buffers).toBe("16MB");
      expect(existsSync(join(dir, "data", "PG_VERSION"))).toBe(true);
      // A guarantee, not a speed: creating the directory in this process kept ~700 MB here; opening
      // it after a child created it adds ~150 MB (WebAssembly code and the touched part of its memory).
      expect(rssMb() - before).toBeLessThan(400);
    } finally {
      await database.close();
    }
  });

  it("opens the same directory again with its data", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-pglite-"));
    dirs.push(dir);
    const first = await openDatabase({ pgliteDir: dir });
    await first.drizzle({}).execute(sql`create table kept (v text)`);
    await first.drizzle({}).execute(sql`insert into kept values ('here')`);
    await first.close();
    const second = await openDatabase({ pgliteDir: dir });
    try {
      const result = (await second.drizzle({}).execute(sql`select v from kept`)) as unknown as {
        rows: { v: string }[];
      };
      expect(result.rows).toEqual([{ v: "here" }]);
    } finally {
      await second.close();
    }
  });
});
