#!/usr/bin/env node
/**
 * `pnpm bench:usage`: the usage API's queries over 10 million usage records. Loads the records into
 * a scratch database (dispatch's own migrations; rows made by `generate_series` inside Postgres),
 * builds the daily and hourly totals from them, then times each query shape the API runs — the very functions
 * dispatch answers `GET /api/v1/usage` and `GET /api/v1/usage/records` with — and writes the
 * figures to docs/benchmarks.md between the `bench:usage` markers.
 *
 *   pnpm bench:usage -- [--records=10000000] [--days=90] [--runs=20] [--no-write]
 *
 * Postgres: TEST_DATABASE_URL's server, or 127.0.0.1:5432 (trust auth); the database is dropped after.
 */
import { cpus, loadavg, totalmem } from "node:os";
import { resolve } from "node:path";
import type { UsageGroup } from "@gatehouse/contracts";
import { openDatabase } from "@gatehouse/db";
import {
  type UsageFilter,
  type UsageScope,
  usageDaily,
  usageDailyAccounts,
  usageRecords,
  usageRecordsPage,
  usageSummary,
} from "@gatehouse/dispatch";
import { createTestDatabase } from "@gatehouse/testkit";
import postgres from "postgres";
import { boundedInt } from "./cli.js";
import { REPO_ROOT } from "./gatehouse.js";
import { ms, table, writeResults } from "./report.js";
import { percentile } from "./stats.js";

const log = (line: string) => process.stderr.write(`${line}\n`);
const argv = process.argv.slice(2).filter((a) => a !== "--");
const RECORDS = boundedInt("records", 10_000_000, 1_000, 100_000_000);
const DAYS = boundedInt("days", 90, 31, 366);
const RUNS = boundedInt("runs", 20, 3, 1_000);
const ACCOUNTS = 20;
const MODELS = 5;
const PRINCIPALS = 2_000;
const TEAMS = 50;
const CHUNK = 1_000_000;
/** The last day of the data (exclusive): fixed, so every run queries the same rows. */
const END = Date.UTC(2026, 10, 30);
const DAY_MS = 86_400_000;

const usersShare = 0.9;
const principalId = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;

async function main(): Promise<void> {
  const scratch = await createTestDatabase();
  const database = await openDatabase({ url: scratch.url, maxConnections: 4 });
  try {
    await database.migrate({
      folder: resolve(REPO_ROOT, "services/dispatch/migrations"),
      service: "dispatch",
    });
    const db = database.drizzle({ usageRecords, usageDaily, usageDailyAccounts });
    const raw = postgres(scratch.url, { max: 1, onnotice: () => {} });
    const loadSeconds = await load(raw);
    const stats =
      await raw`SELECT pg_size_pretty(pg_total_relation_size('dispatch.usage_records')) AS records,
        pg_size_pretty(pg_total_relation_size('dispatch.usage_daily')) AS daily,
        (SELECT count(*) FROM dispatch.usage_hourly_accounts)::bigint AS hourly_rows,
        (SELECT count(*) FROM dispatch.usage_daily)::bigint AS daily_rows,
        (SELECT count(*) FROM dispatch.usage_daily_accounts)::bigint AS account_rows`;
    const size = stats[0] as unknown as {
      records: string;
      daily: string;
      daily_rows: string;
      hourly_rows: string;
      account_rows: string;
    };
    await raw.end({ timeout: 5 });

    const monthEnd = new Date(END);
    const monthStart = new Date(END - 30 * DAY_MS);
    const month: UsageFilter = { from: monthStart, to: monthEnd };
    // Mid-day to mid-day: the two partial days are summed from the records.
    const ragged: UsageFilter = {
      from: new Date(monthStart.getTime() + DAY_MS / 2),
      to: new Date(END - DAY_MS / 2),
    };
    // Minutes into an hour at both edges: whole hours from the hourly totals, the minutes from records.
    const minutes: UsageFilter = {
      from: new Date(ragged.from.getTime() + 17 * 60_000),
      to: new Date(ragged.to.getTime() - 19 * 60_000),
    };
    const admin: UsageScope = { all: true };
    const member: UsageScope = { all: false, principalId: principalId(7), accounts: [] };
    const manager: UsageScope = { all: false, principalId: principalId(8), accounts: ["account-03"] };
    const shapes: Array<[string, () => Promise<unknown>]> = [
      ["a month by day and account (admin)", () => summary(["day", "provider_account"], month, admin)],
      [
        "a month by day and account, ragged edges (admin)",
        () => summary(["day", "provider_account"], ragged, admin),
      ],
      [
        "a month by day and account, edges 17 and 41 minutes into an hour (admin)",
        () => summary(["day", "provider_account"], minutes, admin),
      ],
      [
        "a month by day and account, ragged, one account (admin)",
        () => summary(["day", "provider_account"], { ...ragged, account: "account-03" }, admin),
      ],
      [
        "a month from mid-day to the end of today (admin)",
        () => summary(["day", "provider_account"], { from: ragged.from, to: new Date(END + DAY_MS) }, admin),
      ],
      ["a month by principal (admin, 2,000 groups)", () => summary(["principal"], month, admin)],
      ["a month by team and model (admin)", () => summary(["team", "model"], month, admin)],
      [
        "a month by principal, ragged edges (admin: partial days from the records)",
        () => summary(["principal"], ragged, admin),
      ],
      ["a month by day, one member's own", () => summary(["day"], month, member)],
      ["a month by day and model, an account's manager", () => summary(["day", "model"], month, manager)],
      [
        "a year's total (admin)",
        () => summary([], { from: new Date(END - 365 * DAY_MS), to: monthEnd }, admin),
      ],
      ["records: first page of 100 (admin)", () => usageRecordsPage(db, month, admin, { limit: 100 })],
      [
        "records: first page of 100, one member's own",
        () => usageRecordsPage(db, month, member, { limit: 100 }),
      ],
      [
        "records: a page of 1,000 (admin; ends at 1,000 rows or 512 KiB of JSON)",
        () => usageRecordsPage(db, month, admin, { limit: 1_000 }),
      ],
    ];
    async function summary(groups: UsageGroup[], filter: UsageFilter, scope: UsageScope) {
      const answer = await usageSummary(db, groups, filter, scope);
      if (answer === "too_many") throw new Error(`too many groups for ${groups.join(",")}`);
      return answer;
    }
    const rows: string[][] = [];
    for (const [name, run] of shapes) {
      await run(); // warm: plans cached, pages in memory, as on a server that answers these daily
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const started = performance.now();
        await run();
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      rows.push([name, ms(percentile(times, 50)), ms(percentile(times, 95)), ms(times.at(-1) ?? Number.NaN)]);
      log(`${name}: p50 ${ms(percentile(times, 50))} ms`);
    }
    const [load1] = loadavg();
    const text = [
      `Command: \`pnpm bench:usage${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}\` — ${RECORDS.toLocaleString("en-US")} records over ${DAYS} days ` +
        `(${ACCOUNTS} accounts × ${MODELS} models, ${PRINCIPALS.toLocaleString("en-US")} principals, ${TEAMS} teams), ` +
        `${RUNS} timed runs per shape after one warm-up. Machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ` +
        `${Math.round(totalmem() / 2 ** 30)} GiB, load average ${load1?.toFixed(2)} at the end, Node ${process.version}.`,
      "",
      `Loaded in ${loadSeconds.toFixed(0)} s; usage_records ${size.records}, usage_daily ${size.daily} ` +
        `(${Number(size.daily_rows).toLocaleString("en-US")} rows), usage_daily_accounts ` +
        `${Number(size.account_rows).toLocaleString("en-US")} rows, usage_hourly_accounts ` +
        `${Number(size.hourly_rows).toLocaleString("en-US")} rows. Tenant-wide questions about accounts ` +
        "and models read usage_daily_accounts, and the whole hours of a ragged range's partial days " +
        "usage_hourly_accounts (the minutes at its edges the records); per-principal and team questions, " +
        "and every non-admin's, read usage_daily, and the partial days of a ragged range the records.",
      "",
      table(["query (ms)", "p50", "p95", "max"], rows),
    ].join("\n");
    process.stdout.write(`${text}\n`);
    if (!argv.includes("--no-write"))
      writeResults(resolve(REPO_ROOT, "docs/benchmarks.md"), "bench:usage", text);
  } finally {
    await database.close();
    await scratch.drop();
  }
}

/**
 * The records, made by Postgres in chunks: spread evenly over the days, principals and accounts, a
 * tenth with an error status; most users in one or two teams. The daily totals are then built from
 * them in one pass (the runtime keeps them in the statement that stores each batch).
 */
async function load(raw: postgres.Sql): Promise<number> {
  const started = performance.now();
  // Indexes are built once after the load, not kept up row by row during it.
  await raw.unsafe(`DROP INDEX dispatch.usage_records_account_at_idx, dispatch.usage_records_principal_at_idx,
    dispatch.usage_records_at_idx, dispatch.usage_records_request_idx`);
  const users = Math.round(PRINCIPALS * usersShare);
  for (let from = 0; from < RECORDS; from += CHUNK) {
    const to = Math.min(RECORDS, from + CHUNK) - 1;
    await raw.unsafe(`
      INSERT INTO dispatch.usage_records (id, request_id, at, account, model, operation, principal_kind,
        principal_id, key_id, team_ids, status, stream, prompt_tokens, completion_tokens, total_tokens,
        cached_tokens, estimated, cost_usd, duration_ms, ttft_ms)
      SELECT gen_random_uuid(), 'req-' || i,
        date_trunc('milliseconds', to_timestamp(${END / 1000}) - make_interval(secs =>
          ((i::bigint * 7919) % ${RECORDS})::double precision / ${RECORDS} * ${DAYS * 86_400})),
        'account-' || lpad((i % ${ACCOUNTS})::text, 2, '0'),
        'model-' || (i / ${ACCOUNTS} % ${MODELS}),
        'chat',
        CASE WHEN p < ${users} THEN 'user' ELSE 'virtual_account' END,
        ('00000000-0000-4000-8000-' || lpad(p::text, 12, '0'))::uuid,
        ('00000000-0000-4000-9000-' || lpad(p::text, 12, '0'))::uuid,
        CASE WHEN p >= ${users} OR p % 5 = 0 THEN NULL
          WHEN p % 3 = 0 THEN ARRAY[('00000000-0000-4000-a000-' || lpad((p % ${TEAMS})::text, 12, '0'))::uuid,
                                    ('00000000-0000-4000-a000-' || lpad(((p + 1) % ${TEAMS})::text, 12, '0'))::uuid]
          ELSE ARRAY[('00000000-0000-4000-a000-' || lpad((p % ${TEAMS})::text, 12, '0'))::uuid] END,
        CASE WHEN i % 10 = 0 THEN 429 ELSE 200 END,
        i % 2 = 0,
        100 + i % 900, 20 + i % 400, 120 + i % 900 + i % 400, i % 50,
        false,
        round(((100 + i % 900) * 0.15 + (20 + i % 400) * 0.6) / 1000000.0, 9),
        200 + i % 3000, 50 + i % 500
      FROM generate_series(${from}, ${to}) AS i, LATERAL (SELECT (i * 31) % ${PRINCIPALS} AS p) AS pp`);
    log(
      `loaded ${(to + 1).toLocaleString("en-US")} records (${((performance.now() - started) / 1000).toFixed(0)} s)`,
    );
  }
  await raw.unsafe(`CREATE INDEX usage_records_account_at_idx ON dispatch.usage_records (account, at)`);
  await raw.unsafe(
    `CREATE INDEX usage_records_principal_at_idx ON dispatch.usage_records (principal_id, at)`,
  );
  await raw.unsafe(`CREATE INDEX usage_records_at_idx ON dispatch.usage_records (at, id)`);
  await raw.unsafe(`CREATE INDEX usage_records_request_idx ON dispatch.usage_records (request_id)`);
  log("indexes built");
  await raw.unsafe(`
    INSERT INTO dispatch.usage_daily (day, account, model, principal_kind, principal_id, team_ids, requests,
      errors, input_tokens, output_tokens, cached_tokens, cost_usd)
    SELECT (at AT TIME ZONE 'UTC')::date, account, model, principal_kind, principal_id, coalesce(team_ids, '{}'),
      count(*), count(*) FILTER (WHERE status >= 400), sum(prompt_tokens), sum(completion_tokens),
      sum(cached_tokens), sum(cost_usd)
    FROM dispatch.usage_records GROUP BY 1, 2, 3, 4, 5, 6`);
  await raw.unsafe(`
    INSERT INTO dispatch.usage_daily_accounts (day, account, model, requests, errors, input_tokens,
      output_tokens, cached_tokens, cost_usd)
    SELECT day, account, model, sum(requests), sum(errors), sum(input_tokens), sum(output_tokens),
      sum(cached_tokens), sum(cost_usd)
    FROM dispatch.usage_daily GROUP BY 1, 2, 3`);
  await raw.unsafe(`
    INSERT INTO dispatch.usage_hourly_accounts (hour, account, model, requests, errors, input_tokens,
      output_tokens, cached_tokens, cost_usd)
    SELECT date_trunc('hour', at, 'UTC'), account, model, count(*), count(*) FILTER (WHERE status >= 400),
      sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cost_usd)
    FROM dispatch.usage_records GROUP BY 1, 2, 3`);
  await raw.unsafe("ANALYZE dispatch.usage_records");
  await raw.unsafe("ANALYZE dispatch.usage_daily");
  await raw.unsafe("ANALYZE dispatch.usage_daily_accounts");
  await raw.unsafe("ANALYZE dispatch.usage_hourly_accounts");
  log("daily totals built");
  return (performance.now() - started) / 1000;
}

await main();
