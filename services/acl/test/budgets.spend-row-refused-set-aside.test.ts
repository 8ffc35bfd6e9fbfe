import { encodeJson } from "@gatehouse/bus";
import { usageSubject } from "@gatehouse/contracts";
import { logEntries, usageRecord, waitFor } from "@gatehouse/testkit";
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { aclForFile, monthSpent, newUserBudget } from "./harness.js";

/**
 * docs/governance.md, "Spend from the usage stream": a record Postgres refuses for what it holds
 * (SQLSTATE class 22 or 23) is refused on every redelivery, so it is set aside — logged by id and
 * SQLSTATE — rather than fail its message forever and hold the records batched with it; any other
 * failure redelivers the message, sooner first and then at a bounded pace.
 */
const acl = aclForFile();

beforeAll(async () => {
  // Test-only, in this file's own database: counting a record listed here raises its SQLSTATE.
  const db = acl.db.drizzle({});
  await db.execute(
    sql.raw("CREATE TABLE acl.test_refuse (record_id uuid PRIMARY KEY, sqlstate text NOT NULL)"),
  );
  await db.execute(
    sql.raw(`CREATE FUNCTION acl.test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE code text;
      BEGIN
        SELECT r.sqlstate INTO code FROM acl.test_refuse r WHERE r.record_id = NEW.record_id;
        IF code IS NOT NULL THEN RAISE EXCEPTION 'refused' USING ERRCODE = code; END IF;
        RETURN NEW;
      END $$`),
  );
  await db.execute(
    sql.raw(`CREATE TRIGGER test_refuse BEFORE INSERT ON acl.budget_spend_records
      FOR EACH ROW EXECUTE FUNCTION acl.test_refuse()`),
  );
}, 60_000);

async function refuse(recordId: string, sqlstate: string): Promise<void> {
  await acl.db.drizzle({}).execute(sql`INSERT INTO acl.test_refuse VALUES (${recordId}, ${sqlstate})`);
}

async function cure(recordId: string): Promise<void> {
  await acl.db.drizzle({}).execute(sql`DELETE FROM acl.test_refuse WHERE record_id = ${recordId}`);
}

async function publish(records: unknown[]): Promise<void> {
  await acl.h.bus.nc.jetstream().publish(usageSubject(acl.h.prefix), encodeJson({ records }));
}

function logLines(): Array<Record<string, unknown>> {
  return logEntries(acl.h.logs());
}

describe("budget spend from a message holding a record Postgres refuses for what it holds", () => {
  it("counts the others, sets the refused ones aside by id and SQLSTATE, and redelivers nothing", async () => {
    const { budgetId, subject } = await newUserBudget(acl.h, 100);
    const good = [1, 2, 4].map((costUsd) => usageRecord({ principal: subject, costUsd }));
    const broken = usageRecord({ principal: subject, costUsd: 8, model: "secret-model-name-xyz" });
    const outOfRange = usageRecord({ principal: subject, costUsd: 16 });
    await refuse(broken.id, "23514");
    await refuse(outOfRange.id, "22003");
    await publish([good[0], broken, good[1], outOfRange, good[2]]);

    await waitFor(async () => (await monthSpent(acl.db, budgetId)) === 7, 15_000, 50);
    const setAside = logLines().filter((l) => String(l.msg).includes("set aside, not counted"));
    expect(setAside).toHaveLength(1);
    expect(setAside[0]?.records).toEqual([
      { id: broken.id, sqlstate: "23514" },
      { id: outOfRange.id, sqlstate: "22003" },
    ]);
    // Ids and SQLSTATEs only: nothing else of a record (its model, its principal) reaches the log.
    expect(acl.h.logs()).not.toContain("secret-model-name-xyz");
    expect(acl.h.logs()).not.toContain(subject.id);

    // The message is acked: cured now, the refused records are not tried again.
    await cure(broken.id);
    await cure(outOfRange.id);
    const later = usageRecord({ principal: subject, costUsd: 32 });
    await publish([later]);
    await waitFor(async () => (await monthSpent(acl.db, budgetId)) === 39, 15_000, 50);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await monthSpent(acl.db, budgetId)).toBe(39);
  }, 60_000);
});

describe("budget spend when counting fails for another reason", () => {
  // Each delay is half a pull (0.5 s) more, to come due mid-pull (redeliveryDelayMs).
  it("redelivers the message after 2.5 s, then 4.5 s, and counts it once the failure passes", async () => {
    const { budgetId, subject } = await newUserBudget(acl.h, 100);
    const first = usageRecord({ principal: subject, costUsd: 1 });
    const stuck = usageRecord({ principal: subject, costUsd: 2 });
    // 40001 (serialization failure): class 40 is worth trying again.
    await refuse(stuck.id, "40001");
    await publish([first, stuck]);

    const retries = () =>
      logLines().filter((l) => l.msg === "could not count usage against budgets; JetStream will redeliver");
    await waitFor(async () => retries().length >= 2, 20_000, 50);
    expect(
      retries()
        .slice(0, 2)
        .map((l) => [l.deliveries, l.retryInMs]),
    ).toEqual([
      [1, 2_500],
      [2, 4_500],
    ]);
    expect(await monthSpent(acl.db, budgetId)).toBe(1);
    await cure(stuck.id);
    await waitFor(async () => (await monthSpent(acl.db, budgetId)) === 3, 20_000, 50);
    // The record counted on the first delivery is not counted again.
    expect(await monthSpent(acl.db, budgetId)).toBe(3);
  }, 60_000);
});
