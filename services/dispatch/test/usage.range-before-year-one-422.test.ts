import { randomUUID } from "node:crypto";
import type { BusClient, Route } from "@gatehouse/bus";
import { GatehouseError } from "@gatehouse/contracts";
import type { Database } from "@gatehouse/db";
import type { TestDatabase } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usageDaily, usageDailyAccounts, usageRecords } from "../src/db/usage-schema.js";
import { usageRoutes } from "../src/handlers/usage.js";
import type { AccountsDb, UsageDb } from "../src/usage/scope.js";
import { migratedDatabase } from "./usage-db.js";

// ISO 8601 has a year 0000 (1 BC) and so do JavaScript dates; Postgres's calendar goes from 1 BC to
// 1 AD without one, and refuses "0000-…" as out of range. A range there is the caller's mistake: 422.
let database: TestDatabase;
let opened: Database;
let routes: Route[];

const admin = {
  principal: { id: randomUUID(), kind: "user", name: "admin", role: "admin" },
  keyId: randomUUID(),
  keyHash: "x".repeat(64),
  requestId: "r",
};

beforeAll(async () => {
  ({ database, opened } = await migratedDatabase());
  const db = opened.drizzle({ usageRecords, usageDaily, usageDailyAccounts }) as unknown as UsageDb;
  routes = usageRoutes(db, {} as AccountsDb, {} as BusClient);
});

afterAll(async () => {
  await opened?.close();
  await database?.drop();
});

async function outcome(route: Route, req: Record<string, unknown>): Promise<string> {
  return route.handler({ actor: admin, ...req } as never, {} as never).then(
    () => "answered",
    (err: unknown) => (err instanceof GatehouseError ? err.code : `other: ${String(err)}`),
  );
}

describe("a usage range in year 0000", () => {
  const range = { from: "0000-03-01T00:00:00.000Z", to: "0000-03-02T06:00:00.000Z" };

  it("is refused as validation_failed by both endpoints, not a database error", async () => {
    const [summary, records] = routes as [Route, Route];
    expect(await outcome(summary, { ...range, groupBy: ["day"] })).toBe("validation_failed");
    expect(await outcome(records, { ...range, limit: 10 })).toBe("validation_failed");
  });

  it("while year 1 is answered", async () => {
    const [summary] = routes as [Route];
    const one = { from: "0001-03-01T00:00:00.000Z", to: "0001-03-02T06:00:00.000Z" };
    expect(await outcome(summary, { ...one, groupBy: ["day"] })).toBe("answered");
  });
});
