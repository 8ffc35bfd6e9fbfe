import { encodeJson } from "@gatehouse/bus";
import { usageSubject } from "@gatehouse/contracts";
import { lockTable, logEntries, usageRecord, waitFor } from "@gatehouse/testkit";
import { describe, expect, it } from "vitest";
import { aclForFile, monthSpent, newUserBudget } from "./harness.js";

// docs/governance.md, "Spend from the usage stream": each database step of counting waits at most
// SPEND_DB_TIMEOUT_MS. Behind a database that does not answer, the message being counted and the
// ones pulled with it go back to JetStream — unbounded, a hung database held them (and acl's stop)
// for as long as it hung, past their ack wait, when another instance got them again.
const acl = aclForFile();

describe("budget spend behind a database that hangs", () => {
  it("hands the pulled messages back to JetStream and counts each once the database answers", async () => {
    const { budgetId, subject } = await newUserBudget(acl.h, 100);
    const js = acl.h.bus.nc.jetstream();
    // Counting a record writes its id first: the lock makes that write wait.
    const lock = await lockTable(acl.h.database.url, "acl.budget_spend_records");
    try {
      // Published together, they arrive in one pull: the first waits on the lock, two behind it.
      await Promise.all(
        [1, 2, 4].map((costUsd) =>
          js.publish(
            usageSubject(acl.h.prefix),
            encodeJson({ records: [usageRecord({ principal: subject, costUsd })] }),
          ),
        ),
      );
      const logged = (text: string) => logEntries(acl.h.logs()).filter((l) => String(l.msg).includes(text));
      await waitFor(async () => logged("handed back to JetStream untried").length > 0, 30_000, 50);
      // One wait on the database for the pull, not one per message.
      expect(logged("the database did not answer in time")).toHaveLength(1);
      expect(logged("handed back to JetStream untried")[0]?.messages).toBe(2);
    } finally {
      await lock.release();
    }
    await waitFor(async () => (await monthSpent(acl.db, budgetId)) === 7, 30_000, 50);
    // A count cut off by the timeout left nothing behind: each record is counted once.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await monthSpent(acl.db, budgetId)).toBe(7);
  }, 60_000);
});
