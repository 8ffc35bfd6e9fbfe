import { randomUUID } from "node:crypto";
import type { Database } from "@gatehouse/db";
import type { TestDatabase } from "@gatehouse/testkit";
import { usageRecord } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providerAccounts } from "../src/db/schema.js";
import { insertUsageRows, toRow } from "../src/db/usage-insert.js";
import { usageDaily, usageDailyAccounts, usageRecords } from "../src/db/usage-schema.js";
import { type UsageFilter, type UsageScope, usageRecordsPage, usageSummary } from "../src/usage/query.js";
import { type AccountsDb, accountsCreatedAt, type UsageDb } from "../src/usage/scope.js";
import { migratedDatabase } from "./usage-db.js";

/**
 * Records name their provider account, and a name can stand for another account after a delete and
 * a create. The manager of the account that has the name now sees the calls made to it, never those
 * made to an earlier account of that name (another owner's traffic: principals, keys, costs).
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const D1 = Date.UTC(2026, 8, 1);
const at = (day: number, hours: number) => new Date(D1 + day * DAY + hours * HOUR).toISOString();
const NAME = "acct-reused";
const OLD_CALLER = randomUUID();
const NEW_CALLER = randomUUID();
const MANAGER = randomUUID();
/** The account that has the name now was created on the third day, at noon. */
const RECREATED = at(2, 12);

let database: TestDatabase;
let opened: Database;
let db: UsageDb;
let accounts: AccountsDb;

beforeAll(async () => {
  ({ database, opened } = await migratedDatabase());
  db = opened.drizzle({ usageRecords, usageDaily, usageDailyAccounts });
  accounts = opened.drizzle({ providerAccounts });
  const call = (when: string, caller: string) =>
    toRow(usageRecord({ at: when, account: NAME, principal: { kind: "user", id: caller }, costUsd: 0.5 }));
  await opened.drizzle({}).execute(
    insertUsageRows([
      // The earlier account of that name: another team's calls, and one of the manager's own.
      call(at(0, 10), OLD_CALLER),
      call(at(2, 9), OLD_CALLER),
      call(at(2, 8), MANAGER),
      // The account that has the name now.
      call(at(2, 13), NEW_CALLER),
      call(at(3, 10), NEW_CALLER),
    ]),
  );
  await opened
    .drizzle({ providerAccounts })
    .insert(providerAccounts)
    .values({
      id: randomUUID(),
      name: NAME,
      type: "openai",
      options: {},
      credentialsCiphertext: "x",
      credentialsSet: false,
      models: [],
      enabled: true,
      createdAt: new Date(RECREATED),
      updatedAt: new Date(RECREATED),
    });
}, 60_000);

afterAll(async () => {
  await opened?.close();
  await database?.drop();
});

async function managerScope(): Promise<UsageScope> {
  return {
    all: false,
    principalId: MANAGER,
    accounts: [NAME],
    since: await accountsCreatedAt(accounts, [NAME]),
  };
}

describe("a manager's view of an account whose name was used before", () => {
  const ranges: Array<[string, UsageFilter]> = [
    ["whole days", { from: new Date(D1), to: new Date(D1 + 5 * DAY) }],
    ["ragged edges", { from: new Date(D1 + 5 * HOUR), to: new Date(D1 + 3 * DAY + 11 * HOUR) }],
    ["inside the day it was created", { from: new Date(at(2, 1)), to: new Date(at(2, 23)) }],
  ];

  it.each(ranges)(
    "totals count the manager's own calls and the new account's only (%s)",
    async (_n, filter) => {
      const answer = await usageSummary(db, ["principal"], filter, await managerScope());
      if (answer === "too_many") throw new Error("too many groups");
      const by = Object.fromEntries(answer.map((g) => [g.principalId, g.requests]));
      expect(by[OLD_CALLER]).toBeUndefined();
      expect(by[MANAGER]).toBe(1);
      expect(by[NEW_CALLER]).toBe(filter.to.getTime() > Date.parse(at(3, 10)) ? 2 : 1);
    },
  );

  it("record pages leave out the earlier account's calls", async () => {
    const page = await usageRecordsPage(db, ranges[0]?.[1] as UsageFilter, await managerScope(), {
      limit: 100,
    });
    expect(page.items.map((r) => [r.principalId, r.at])).toEqual([
      [NEW_CALLER, at(3, 10)],
      [NEW_CALLER, at(2, 13)],
      [MANAGER, at(2, 8)],
    ]);
  });

  it("a name no account has now is managed by no one", async () => {
    expect(await accountsCreatedAt(accounts, ["acct-gone", NAME])).toEqual(
      new Map([[NAME, new Date(RECREATED)]]),
    );
  });
});
