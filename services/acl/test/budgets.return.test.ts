import { randomUUID } from "node:crypto";
import {
  aclAdminBudgetsCreate,
  aclQuotaBudgetLease,
  aclQuotaBudgetReturn,
  budgetPeriodOf,
  type RequestOf,
} from "@gatehouse/contracts";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { budgetPeriods } from "../src/db/schema.js";
import { aclForFile } from "./harness.js";

const acl = aclForFile();

async function newBudget(maxUsd: number): Promise<string> {
  const budget = await acl.h.client.request(aclAdminBudgetsCreate, {
    actor: acl.h.ids.admin,
    subject: { kind: "user", id: randomUUID() },
    maxUsd,
    period: "month",
    failOpen: false,
  });
  return budget.id;
}

async function periodOf(budgetId: string, periodStart: number) {
  const orm = acl.db.drizzle({ budgetPeriods });
  const [row] = await orm
    .select()
    .from(budgetPeriods)
    .where(and(eq(budgetPeriods.budgetId, budgetId), eq(budgetPeriods.periodStart, periodStart)));
  return row;
}

const giveBack = (req: RequestOf<typeof aclQuotaBudgetReturn>) =>
  acl.h.client.request(aclQuotaBudgetReturn, req);

describe("quota.budget_return", () => {
  it("lowers what the current period handed out, by at most what is returned and never below 0", async () => {
    const budgetId = await newBudget(1);
    const lease = await acl.h.client.request(aclQuotaBudgetLease, { budgetId, microUsd: 600_000 });
    const start = budgetPeriodOf("month", Date.now()).start;
    expect(lease).toMatchObject({ found: true, microUsd: 600_000, periodStart: start });

    expect(await giveBack({ budgetId, periodStart: start, microUsd: 250_000 })).toEqual({
      microUsd: 250_000,
    });
    expect((await periodOf(budgetId, start))?.handedMicroUsd).toBe(350_000);
    expect(await giveBack({ budgetId, periodStart: start, microUsd: 1_000_000 })).toEqual({
      microUsd: 350_000,
    });
    expect((await periodOf(budgetId, start))?.handedMicroUsd).toBe(0);
    expect(await giveBack({ budgetId, periodStart: start, microUsd: 5 })).toEqual({ microUsd: 0 });
  });

  it("ignores a return for an ended period, or for a budget that is gone", async () => {
    const budgetId = await newBudget(1);
    await acl.h.client.request(aclQuotaBudgetLease, { budgetId, microUsd: 400_000 });
    const now = new Date();
    const start = budgetPeriodOf("month", now.getTime()).start;
    const lastMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1);
    // The ended period has a row of its own (leased then): it stays as it was, and so does this one.
    const orm = acl.db.drizzle({ budgetPeriods });
    await orm
      .insert(budgetPeriods)
      .values({ budgetId, periodStart: lastMonth, handedMicroUsd: 900_000, spentUsd: 0.9 });
    expect(await giveBack({ budgetId, periodStart: lastMonth, microUsd: 400_000 })).toEqual({ microUsd: 0 });
    expect((await periodOf(budgetId, lastMonth))?.handedMicroUsd).toBe(900_000);
    expect((await periodOf(budgetId, start))?.handedMicroUsd).toBe(400_000);
    expect(await giveBack({ budgetId: randomUUID(), periodStart: start, microUsd: 1 })).toEqual({
      microUsd: 0,
    });
  });

  it("never lets a period hand out more than max − spent", async () => {
    const budgetId = await newBudget(1);
    await acl.h.client.request(aclQuotaBudgetLease, { budgetId, microUsd: 700_000 });
    const start = budgetPeriodOf("month", Date.now()).start;
    // The usage records say $0.60 was spent; the slice comes back whole.
    await acl.db
      .drizzle({ budgetPeriods })
      .update(budgetPeriods)
      .set({ spentUsd: 0.6 })
      .where(and(eq(budgetPeriods.budgetId, budgetId), eq(budgetPeriods.periodStart, start)));
    expect(await giveBack({ budgetId, periodStart: start, microUsd: 700_000 })).toEqual({
      microUsd: 700_000,
    });
    const lease = await acl.h.client.request(aclQuotaBudgetLease, { budgetId, microUsd: 1_000_000 });
    expect(lease).toMatchObject({ microUsd: 400_000, remainingMicroUsd: 0 });
  });

  it("refuses amounts and periods that are not whole, non-negative numbers", async () => {
    const budgetId = await newBudget(1);
    const start = budgetPeriodOf("month", Date.now()).start;
    const invalid = [
      { budgetId, periodStart: start, microUsd: -1 },
      { budgetId, periodStart: start, microUsd: 0.5 },
      { budgetId, periodStart: start, microUsd: 1e20 },
      { budgetId, periodStart: start + 0.5, microUsd: 1 },
      { budgetId, periodStart: -1, microUsd: 1 },
      { budgetId: "not-a-uuid", periodStart: start, microUsd: 1 },
    ];
    for (const req of invalid) {
      await expect(giveBack(req)).rejects.toMatchObject({ code: "validation_failed" });
    }
  });
});
