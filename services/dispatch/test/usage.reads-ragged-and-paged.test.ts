import { randomUUID } from "node:crypto";
import { USAGE_RECORDS_PAGE_MAX, USAGE_RECORDS_PAGE_MAX_BYTES, type UsageGroup } from "@gatehouse/contracts";
import type { Database } from "@gatehouse/db";
import type { TestDatabase } from "@gatehouse/testkit";
import { usageRecord } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertUsageRows, toRow } from "../src/db/usage-insert.js";
import { usageDaily, usageDailyAccounts, usageRecords } from "../src/db/usage-schema.js";
import { type UsageFilter, type UsageScope, usageRecordsPage, usageSummary } from "../src/usage/query.js";
import type { UsageDb } from "../src/usage/scope.js";
import { migratedDatabase } from "./usage-db.js";

/**
 * The usage read API's queries against dispatch's own tables and migrations: totals over ranges that
 * start and end anywhere (whole days, whole hours, minutes) equal the records' own sums, and record
 * pages stay inside their byte budget while the cursor walks every record once.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Two past days and a bit, away from now (a range ending now or later reads its last day whole). */
const START = Date.UTC(2026, 9, 10);
const ACCOUNTS = ["acct-a", "acct-b"];
const MODELS = ["m-1", "m-2"];
const PRINCIPALS = [randomUUID(), randomUUID(), randomUUID()];
const admin: UsageScope = { all: true };

let database: TestDatabase;
let opened: Database;
let db: UsageDb;
const stored: Array<ReturnType<typeof toRow>> = [];

beforeAll(async () => {
  ({ database, opened } = await migratedDatabase());
  db = opened.drizzle({ usageRecords, usageDaily, usageDailyAccounts });
  // One record every 7 minutes and 13 s over 52 hours, spread over accounts, models, principals and
  // statuses; stored in batches as the consumer stores them (which keeps the totals).
  const rows = [];
  for (let i = 0, at = START + 11 * 60_000; at < START + 52 * HOUR; i++, at += 433_000) {
    rows.push(
      toRow(
        usageRecord({
          at: new Date(at).toISOString(),
          account: ACCOUNTS[i % 2] as string,
          model: MODELS[Math.floor(i / 2) % 2] as string,
          principal: { kind: "user", id: PRINCIPALS[i % 3] as string },
          status: i % 10 === 0 ? 429 : 200,
          usage: { promptTokens: 10 + (i % 7), completionTokens: 3 + (i % 5), totalTokens: 13 },
          costUsd: i % 4 === 0 ? null : 0.000001 * (i % 9),
        }),
      ),
    );
  }
  for (let i = 0; i < rows.length; i += 100) {
    await opened.drizzle({}).execute(insertUsageRows(rows.slice(i, i + 100)));
  }
  stored.push(...rows);
}, 60_000);

afterAll(async () => {
  await opened?.close();
  await database?.drop();
});

/** What the totals must be: the records in `[from, to)` summed here, grouped by day and account. */
function expected(
  filter: UsageFilter,
): Map<string, { requests: number; errors: number; input: number; cost: number | null }> {
  const out = new Map<string, { requests: number; errors: number; input: number; cost: number | null }>();
  for (const r of stored) {
    const at = Date.parse(r.at);
    if (at < filter.from.getTime() || at >= filter.to.getTime()) continue;
    if (filter.account !== undefined && r.account !== filter.account) continue;
    const key = `${r.at.slice(0, 10)} ${r.account}`;
    const t = out.get(key) ?? { requests: 0, errors: 0, input: 0, cost: null };
    t.requests++;
    if (r.status >= 400) t.errors++;
    t.input += r.prompt_tokens ?? 0;
    if (r.cost_usd !== null) t.cost = (t.cost ?? 0) + r.cost_usd;
    out.set(key, t);
  }
  return out;
}

async function totals(groups: UsageGroup[], filter: UsageFilter, scope: UsageScope = admin) {
  const answer = await usageSummary(db, groups, filter, scope);
  if (answer === "too_many") throw new Error("too many groups");
  return answer;
}

describe("usage totals over any range", () => {
  const at = (hours: number, minutes = 0) => new Date(START + hours * HOUR + minutes * 60_000);
  const ranges: Array<[string, UsageFilter]> = [
    ["whole days", { from: at(0), to: at(48) }],
    ["mid-day to mid-day, on whole hours", { from: at(5), to: at(43) }],
    ["minutes into an hour at both edges", { from: at(5, 17), to: at(43, 41) }],
    ["inside one day, across hours", { from: at(26, 3), to: at(29, 59) }],
    ["inside one hour", { from: at(30, 10), to: at(30, 50) }],
    ["one account, ragged", { from: at(3, 30), to: at(50, 5), account: "acct-b" }],
  ];

  it.each(ranges)("by day and account (%s) equal the records' own sums", async (_name, filter) => {
    const want = expected(filter);
    const got = await totals(["day", "provider_account"], filter);
    expect(got.length).toBe(want.size);
    for (const g of got) {
      const w = want.get(`${g.day} ${g.providerAccount}`);
      expect(w, `${g.day} ${g.providerAccount}`).toBeDefined();
      expect(g.requests).toBe(w?.requests);
      expect(g.errors).toBe(w?.errors);
      expect(g.inputTokens).toBe(w?.input);
      if (w?.cost === null) expect(g.costUsd).toBeNull();
      else expect(g.costUsd).toBeCloseTo(w?.cost ?? Number.NaN, 9);
    }
  });

  it.each(ranges)("by principal (%s) add up to the same requests", async (_name, filter) => {
    const want = [...expected(filter).values()].reduce((n, t) => n + t.requests, 0);
    const got = await totals(["principal"], filter);
    expect(got.reduce((n, g) => n + g.requests, 0)).toBe(want);
  });

  it("keeps hourly totals per account and model, only of the records stored (a redelivered batch counts once)", async () => {
    const raw = opened.drizzle({});
    const before = await raw.execute(
      "SELECT coalesce(sum(requests), 0)::bigint AS n FROM dispatch.usage_hourly_accounts",
    );
    const n = (result: unknown) =>
      Number(((Array.isArray(result) ? result : (result as { rows: unknown[] }).rows)[0] as { n: string }).n);
    expect(n(before)).toBe(stored.length);
    await raw.execute(insertUsageRows(stored.slice(0, 50)));
    expect(
      n(await raw.execute("SELECT sum(requests)::bigint AS n FROM dispatch.usage_hourly_accounts")),
    ).toBe(stored.length);
  });
});

describe("record pages", () => {
  it("end within the byte budget and the cursor visits every record once, newest first", async () => {
    // Records of a member of 150 teams: ~5.8 KB of JSON each, so a page of 1,000 would be ~6 MB.
    const teams = Array.from({ length: 150 }, () => randomUUID());
    const principal = randomUUID();
    const big = Array.from({ length: 240 }, (_, i) =>
      toRow(
        usageRecord({
          at: new Date(START - DAY + i * 1_000).toISOString(),
          principal: { kind: "user", id: principal },
          teamIds: teams,
        }),
      ),
    );
    await opened.drizzle({}).execute(insertUsageRows(big));
    const filter: UsageFilter = { from: new Date(START - DAY), to: new Date(START), principalId: principal };
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await usageRecordsPage(db, filter, admin, { limit: USAGE_RECORDS_PAGE_MAX, cursor });
      pages++;
      expect(page.items.length).toBeGreaterThan(0);
      expect(Buffer.byteLength(JSON.stringify(page.items))).toBeLessThanOrEqual(USAGE_RECORDS_PAGE_MAX_BYTES);
      seen.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined && pages < 20);
    expect(pages).toBeGreaterThan(1);
    expect(seen).toHaveLength(big.length);
    expect(new Set(seen).size).toBe(big.length);
    expect(seen).toEqual(big.map((r) => r.id).reverse());
  });

  it("still hold the row limit when records are small", async () => {
    const filter: UsageFilter = { from: new Date(START), to: new Date(START + 52 * HOUR) };
    const page = await usageRecordsPage(db, filter, admin, { limit: 25 });
    expect(page.items).toHaveLength(25);
    expect(page.nextCursor).not.toBeNull();
  });
});
