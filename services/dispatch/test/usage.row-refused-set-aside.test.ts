import { captureLogger, usageRecord, waitFor } from "@gatehouse/testkit";
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { UsagePublisher } from "../src/invoke/usage.js";
import { usageStoreForFile } from "./usage-db.js";

// A row Postgres refuses for what it holds (a data exception, a broken constraint) is refused again
// on every redelivery: it must cost that record alone, not block its batch forever.
const logs = captureLogger("usage-row-refused");
const counted: Record<string, number> = {};
const fx = usageStoreForFile(
  "usage-row-refused",
  {
    logger: logs.logger,
    retryDelayMs: 100,
    onStored: (stage, n) => {
      counted[stage] = (counted[stage] ?? 0) + n;
    },
  },
  async (opened) => {
    // Test-only constraints in this test's own database: status 418 breaks one (class 23), a
    // duration of 999 999 raises a data exception (class 22).
    await opened
      .drizzle({})
      .execute(
        sql.raw("ALTER TABLE dispatch.usage_records ADD CONSTRAINT test_no_teapot CHECK (status <> 418)"),
      );
    await opened.drizzle({}).execute(
      sql.raw(`CREATE FUNCTION dispatch.test_refuse_duration() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.duration_ms = 999999 THEN RAISE EXCEPTION 'refused' USING ERRCODE = '22003'; END IF;
        RETURN NEW;
      END $$`),
    );
    await opened.drizzle({}).execute(
      sql.raw(`CREATE TRIGGER test_refuse_duration BEFORE INSERT ON dispatch.usage_records
      FOR EACH ROW EXECUTE FUNCTION dispatch.test_refuse_duration()`),
    );
  },
);
let usage: UsagePublisher;
beforeAll(() => {
  usage = new UsagePublisher(fx.bus.nc, fx.prefix, logs.logger, 50, 20);
});

const storedIds = () => fx.storedIds();

describe("a usage batch with a row Postgres refuses", () => {
  it("stores the others, sets the refused ones aside with their id and SQLSTATE, and redelivers nothing", async () => {
    const good = [usageRecord(), usageRecord(), usageRecord(), usageRecord()];
    const teapot = usageRecord({ status: 418, model: "secret-model-name-xyz" });
    const overflow = usageRecord({ durationMs: 999_999 });
    for (const r of [good[0], teapot, good[1], overflow, good[2], good[3]]) if (r) usage.add(r);
    await usage.flush();

    await waitFor(async () => (await storedIds()).length === 4, 10_000);
    expect((await storedIds()).sort()).toEqual(good.map((r) => r.id).sort());
    await waitFor(async () => (await fx.consumer.unstored()) === 0, 10_000);

    const refused = logs.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.level === 50 || l.level === "error");
    expect(refused).toHaveLength(1);
    expect(refused[0]?.records).toEqual(
      expect.arrayContaining([
        { id: teapot.id, sqlstate: "23514" },
        { id: overflow.id, sqlstate: "22003" },
      ]),
    );
    // Ids only: nothing else of the record (its model, its principal) reaches the log.
    expect(logs.text()).not.toContain("secret-model-name-xyz");
    expect(logs.text()).not.toContain(teapot.principal.id);
    expect(counted).toMatchObject({ stored: 4, rejected: 2 });

    // Nothing comes back: a later record is stored and the refused ones are not tried again.
    const later = usageRecord();
    usage.add(later);
    await usage.flush();
    await waitFor(async () => (await storedIds()).includes(later.id), 10_000);
    expect(counted).toMatchObject({ stored: 5, rejected: 2 });
  });

  it("sets nothing aside when each row alone is stored (the batch failed as a whole): no error, none rejected", async () => {
    // Test-only: a statement inserting more than one row breaks a constraint, each row alone does not.
    await fx.opened.drizzle({}).execute(
      sql.raw(`CREATE FUNCTION dispatch.test_one_row_a_statement() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF (SELECT count(*) FROM added) > 1 THEN RAISE EXCEPTION 'one' USING ERRCODE = '23514'; END IF;
          RETURN NULL;
        END $$`),
    );
    await fx.opened.drizzle({}).execute(
      sql.raw(`CREATE TRIGGER test_one_row_a_statement AFTER INSERT ON dispatch.usage_records
        REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION dispatch.test_one_row_a_statement()`),
    );
    const errorsBefore = logs.lines.filter((l) => l.includes('"level":50')).length;
    const before = { ...counted };
    const three = [usageRecord(), usageRecord(), usageRecord()];
    for (const r of three) usage.add(r);
    await usage.flush();
    await waitFor(async () => {
      const ids = new Set(await storedIds());
      return three.every((r) => ids.has(r.id));
    }, 10_000);
    await waitFor(async () => (await fx.consumer.unstored()) === 0, 10_000);
    expect(logs.lines.filter((l) => l.includes('"level":50')).length).toBe(errorsBefore);
    expect(counted.rejected).toBe(before.rejected);
  });
});
