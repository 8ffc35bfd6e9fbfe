import { encodeJson } from "@gatehouse/bus";
import { usageSubject } from "@gatehouse/contracts";
import { usageRecord, waitFor } from "@gatehouse/testkit";
import { inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { SPEND_MAX_USD_PER_RECORD } from "../src/budgets/spend.js";
import { budgetSpendRecords } from "../src/db/schema.js";
import { aclForFile, monthSpent, newUserBudget } from "./harness.js";

/**
 * docs/governance.md, "Spend from the usage stream": a usage message batches the records of many
 * callers' calls. One record acl cannot count must cost that record alone, never the spend of the
 * others batched with it (a budget is a limit: spend it misses is spend it lets through).
 */
const acl = aclForFile();

/** A call's usage record as dispatch publishes it, charged `costUsd`. */
function record(principal: { kind: "user"; id: string }, costUsd: number) {
  return usageRecord({
    principal,
    costUsd,
    usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 },
  });
}

async function publish(records: unknown[]): Promise<void> {
  await acl.h.bus.nc.jetstream().publish(usageSubject(acl.h.prefix), encodeJson({ records }));
}

function spentOf(budgetId: string): Promise<number | undefined> {
  return monthSpent(acl.db, budgetId);
}

async function counted(ids: string[]): Promise<string[]> {
  const rows = await acl.db
    .drizzle({ budgetSpendRecords })
    .select({ id: budgetSpendRecords.recordId })
    .from(budgetSpendRecords)
    .where(inArray(budgetSpendRecords.recordId, ids));
  return rows.map((r) => r.id).sort();
}

describe("budget spend from a usage message holding a record that fails its schema", () => {
  it("counts the message's good records and skips the bad one alone", async () => {
    const { budgetId, subject } = await newUserBudget(acl.h, 10);
    const good = [record(subject, 1.25), record(subject, 2.5)];
    // Counts no provider can have spent (an upstream's own numbers), on a record with a cost.
    const bad = {
      ...record(subject, 4),
      usage: { promptTokens: -3, completionTokens: 1.5, totalTokens: 0 },
    };
    await publish([good[0], bad, good[1]]);
    await waitFor(async () => (await spentOf(budgetId)) === 3.75, 10_000, 50);
    expect(await counted([bad.id, ...good.map((r) => r.id)])).toEqual(good.map((r) => r.id).sort());
    expect(acl.h.logs()).toContain("skipping usage records that fail their schema");
    // The log names the record's fields, never its values (no tokens, ids or text of a caller).
    expect(acl.h.logs()).not.toContain(bad.id);
  }, 30_000);

  it("skips a record with a negative cost, counting the rest", async () => {
    const { budgetId, subject } = await newUserBudget(acl.h, 10);
    const good = record(subject, 0.5);
    await publish([record(subject, -1_000), good]);
    await waitFor(async () => (await spentOf(budgetId)) === 0.5, 10_000, 50);
  }, 30_000);
});

describe("budget spend from a record with a cost no call can have", () => {
  it("counts it capped, so the period's sum stays a number and the records after it count", async () => {
    const { budgetId, subject } = await newUserBudget(acl.h, 10);
    // Finite in JSON, but two of them overflow the period's sum (double precision): the message
    // failed every delivery, and the record after them in it was never counted.
    const huge = [record(subject, 1e308), record(subject, 1e308)];
    const good = record(subject, 0.5);
    await publish([...huge, good]);
    await waitFor(async () => (await counted([good.id])).length === 1, 10_000, 50);
    expect(await spentOf(budgetId)).toBe(2 * SPEND_MAX_USD_PER_RECORD + 0.5);
  }, 30_000);
});
