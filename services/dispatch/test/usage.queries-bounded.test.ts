import { randomUUID } from "node:crypto";
import type { BusClient, Route } from "@gatehouse/bus";
import { GatehouseError } from "@gatehouse/contracts";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { usageRoutes } from "../src/handlers/usage.js";
import { UsageQueries } from "../src/usage/gate.js";
import type { AccountsDb, UsageDb } from "../src/usage/scope.js";
import { migratedDatabase } from "./usage-db.js";

/**
 * Usage queries share dispatch's database pool with every call's account and plan reads. However
 * many a caller sends at once (a dashboard polling, a script), only a few run; the rest wait in a
 * short queue or are refused as rate limited, so the pool is never theirs alone.
 */
const admin = {
  actor: {
    principal: { id: randomUUID(), kind: "user", name: "admin", role: "admin" },
    keyId: randomUUID(),
    keyHash: "x".repeat(64),
    requestId: "r",
  },
  groupBy: [],
  from: "2026-09-01T00:00:00.000Z",
  to: "2026-09-02T00:00:00.000Z",
};

/** A database whose queries never answer: what a slow aggregate looks like from here. */
function stuckDb() {
  let started = 0;
  const hang = () => {
    started++;
    return new Promise<never>(() => {});
  };
  const db = { execute: hang, transaction: hang } as unknown as UsageDb;
  return { db, started: () => started };
}

describe("usage queries at once", () => {
  it("run a few at a time, queue a few more and refuse the rest as rate limited", async () => {
    const { db, started } = stuckDb();
    const routes = usageRoutes(db, {} as AccountsDb, {} as BusClient);
    const summary = routes[0] as Route;
    const answers = Array.from({ length: 60 }, () =>
      summary.handler(admin as never, {} as never).then(
        () => "answered",
        (err: unknown) => (err instanceof GatehouseError ? err.code : "other"),
      ),
    );
    const settled = await Promise.race([
      Promise.all(answers.slice(-10)),
      new Promise((r) => setTimeout(() => r("pending"), 2_000)),
    ]);
    expect(started()).toBeLessThanOrEqual(4);
    expect(settled).toEqual(Array(10).fill("rate_limited"));
  });
});

describe("a usage query's time is its caller's", () => {
  it("runs under what is left of the caller's time (ADMIN_TIMEOUT_MS less a margin), not a fixed 10 s", async () => {
    const { database, opened } = await migratedDatabase();
    try {
      const queries = new UsageQueries(opened.drizzle({}) as unknown as UsageDb, {
        timeoutMs: 1_000,
        statementTimeout: true,
      });
      // 700 ms of the caller's 1 s went by before its turn (waiting, asking acl who may see what).
      const startedAt = performance.now() - 700;
      const err = await queries
        .run(
          (q) => q.execute(sql`SELECT current_setting('statement_timeout') AS t, pg_sleep(0.6)`),
          startedAt,
        )
        .catch((e: unknown) => e);
      expect((err as GatehouseError).code).toBe("service_timeout");
      const setting = await queries.run(
        (q) => q.execute(sql`SELECT current_setting('statement_timeout') AS t`),
        performance.now() - 200,
      );
      const ms = Number.parseInt(String((setting as unknown as Array<{ t: string }>)[0]?.t), 10);
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(800);
    } finally {
      await opened.close();
      await database.drop();
    }
  });

  it("is not started once its caller has given up waiting for a turn (PGlite too: no statement timeout there)", async () => {
    const { db, started } = stuckDb();
    const queries = new UsageQueries(db, { timeoutMs: 1_000, statementTimeout: false });
    const err = await queries.run((q) => q.execute(sql`SELECT 1`), performance.now() - 1_500).catch((e) => e);
    expect((err as GatehouseError).code).toBe("service_timeout");
    expect(started()).toBe(0);
  });
});

describe("a usage query that runs too long", () => {
  it("is stopped by Postgres at the statement timeout and answers service_timeout", async () => {
    const { database, opened } = await migratedDatabase();
    try {
      const queries = new UsageQueries(opened.drizzle({}) as unknown as UsageDb, {
        timeoutMs: 100,
        statementTimeout: true,
      });
      const err = await queries.run((q) => q.execute(sql`SELECT pg_sleep(5)`)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GatehouseError);
      // Cancelled by Postgres (a sleep that ran out would have answered).
      expect((err as GatehouseError).code).toBe("service_timeout");
      // The turn was given back: the next query runs.
      expect(await queries.run(async (q) => (await q.execute(sql`SELECT 1 AS one`)) !== undefined)).toBe(
        true,
      );
    } finally {
      await opened.close();
      await database.drop();
    }
  });
});
