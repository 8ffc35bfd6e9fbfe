import { randomUUID } from "node:crypto";
import { encodeJson } from "@gatehouse/bus";
import { aclAdminBudgetsCreate, usageStreamName, usageSubject } from "@gatehouse/contracts";
import { lockTable, usageRecord, waitFor } from "@gatehouse/testkit";
import { describe, expect, it } from "vitest";
import { SPEND_DURABLE } from "../src/budgets/spend.js";
import { aclForFile, monthSpent } from "./harness.js";

// Behind a database that does not answer (a lock held, a connection silently gone), the usage
// messages acl has yet to count must wait in JetStream: taken into acl while it waits, they (and
// their redeliveries after the ack wait) piled up in its memory without bound.
const acl = aclForFile();

function spentOf(budgetId: string): Promise<number | undefined> {
  return monthSpent(acl.db, budgetId);
}

describe("budget spend behind a database that hangs", () => {
  it("takes in no more usage messages while one is being counted", async () => {
    const subject = { kind: "user" as const, id: randomUUID() };
    const budget = await acl.h.client.request(aclAdminBudgetsCreate, {
      actor: acl.h.ids.admin,
      subject,
      maxUsd: 100,
      period: "month",
      failOpen: false,
    });
    const publish = () =>
      acl.h.bus.nc
        .jetstream()
        .publish(
          usageSubject(acl.h.prefix),
          encodeJson({ records: [usageRecord({ principal: subject, costUsd: 1 })] }),
        );
    const jsm = await acl.h.bus.nc.jetstreamManager();
    const info = () => jsm.consumers.info(usageStreamName(acl.h.prefix), SPEND_DURABLE);

    // Counting a record writes its id first: the lock makes that write wait.
    const lock = await lockTable(acl.h.database.url, "acl.budget_spend_records");
    try {
      await publish();
      await waitFor(async () => (await info()).num_ack_pending === 1, 10_000, 50);
      // The pull that brought it has ended (a pull waits at most a second for more).
      await new Promise((r) => setTimeout(r, 1_300));
      for (let i = 0; i < 8; i++) await publish();
      await new Promise((r) => setTimeout(r, 300));
      const waiting = await info();
      expect([waiting.num_ack_pending, waiting.num_pending]).toEqual([1, 8]);
    } finally {
      await lock.release();
    }
    await waitFor(async () => (await spentOf(budget.id)) === 9, 15_000, 50);
  }, 40_000);
});
