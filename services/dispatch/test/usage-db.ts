import { fileURLToPath } from "node:url";
import { type Database, openDatabase } from "@gatehouse/db";
import { createTestDatabase, type TestDatabase } from "@gatehouse/testkit";

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
