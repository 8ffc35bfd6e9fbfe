import {
  type StoredUsageRecord,
  USAGE_MAX_GROUPS,
  USAGE_RECORDS_PAGE_MAX_BYTES,
  type UsageGroup,
  type UsageGroupTotals,
} from "@gatehouse/contracts";
import { keysetAfter, keysetOrder, pageFrom } from "@gatehouse/db";
import { type AnyColumn, and, arrayContains, eq, gte, inArray, lt, or, type SQL, sql } from "drizzle-orm";
import { usageDaily, usageDailyAccounts, usageHourlyAccounts, usageRecords } from "../db/usage-schema.js";
import type { UsageDb } from "./scope.js";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

type Span = [number, number];

/**
 * `[from, to)` as the whole `unit`s inside it (`null` when there is none) and the parts left at its
 * edges. A range that ends now or later holds all of its last unit so far, so that unit counts as
 * whole: its totals are exact.
 */
function split(from: number, to: number, unit: number): { whole: Span | null; edges: Span[] } {
  const first = Math.ceil(from / unit) * unit;
  const end = (to >= Date.now() ? Math.ceil : Math.floor)(to / unit) * unit;
  if (first >= end) return { whole: null, edges: [[from, to]] };
  const edges: Span[] = [
    [from, first],
    [Math.min(to, end), to],
  ];
  return { whole: [first, end], edges: edges.filter(([a, b]) => a < b) };
}

/**
 * Who may see which records: everything (`all`), or their own calls and the accounts they manage.
 * Records name their account, and a name can stand for another account after a delete and a create:
 * `since` holds when the account that has each managed name now was created, and a manager sees the
 * calls to that name from then on only (an account missing from it: all of them).
 */
export type UsageScope =
  | { all: true }
  | { all: false; principalId: string; accounts: string[]; since?: ReadonlyMap<string, Date> };

export interface UsageFilter {
  from: Date;
  to: Date;
  account?: string | undefined;
  model?: string | undefined;
  principalId?: string | undefined;
  teamId?: string | undefined;
}

/** The columns both tables have, filtered and scoped alike. */
type Columns = Record<"account" | "model" | "principalId" | "teamIds", AnyColumn>;

/**
 * The filter and the scope, over the columns both tables share. `after(since)` is the condition
 * "later than `since`" in the table's own time column: for the records, at or after that instant;
 * for a daily table, the days after that one (its creation day is summed from the records, see
 * `createdInside`).
 */
function conditions(c: Columns, filter: UsageFilter, scope: UsageScope, after: (since: Date) => SQL): SQL[] {
  const where: SQL[] = [];
  if (filter.account !== undefined) where.push(eq(c.account, filter.account));
  if (filter.model !== undefined) where.push(eq(c.model, filter.model));
  if (filter.principalId !== undefined) where.push(eq(c.principalId, filter.principalId));
  if (filter.teamId !== undefined) where.push(arrayContains(c.teamIds, [filter.teamId]));
  if (!scope.all) {
    const whole: string[] = [];
    const managed: SQL[] = [];
    for (const name of scope.accounts) {
      const since = scope.since?.get(name);
      if (since === undefined || since.getTime() <= filter.from.getTime()) whole.push(name);
      else managed.push(and(eq(c.account, name), after(since)) as SQL);
    }
    if (whole.length > 0) managed.unshift(inArray(c.account, whole));
    where.push(or(eq(c.principalId, scope.principalId), ...managed) as SQL);
  }
  return where;
}

const recordsAfter = (since: Date) => gte(usageRecords.at, since.toISOString());
const dailyAfter = (since: Date) => sql`${usageDaily.day} > ${isoDay(since.getTime())}`;

/**
 * The managed accounts created inside the whole days `[a, b)`: the daily totals of their creation
 * day mix their calls with an earlier account's of that name, so that day's calls from their
 * creation on, but the caller's own (already in the daily totals), are summed from the records.
 */
function createdInside(scope: UsageScope, [a, b]: Span): Array<{ name: string; span: Span }> {
  if (scope.all || !scope.since) return [];
  const out: Array<{ name: string; span: Span }> = [];
  for (const name of scope.accounts) {
    const since = scope.since.get(name)?.getTime();
    if (since === undefined || since < a || since >= b) continue;
    out.push({ name, span: [since, Math.min(b, (Math.floor(since / DAY_MS) + 1) * DAY_MS)] });
  }
  return out;
}

/** Each group's output columns, as SQL over the combined source `s` (and `t`, its teams). */
const GROUP_COLUMNS: Record<UsageGroup, Array<[string, SQL]>> = {
  day: [["day", sql`to_char(s.day, 'YYYY-MM-DD')`]],
  principal: [
    ["principal_kind", sql`s.principal_kind`],
    ["principal_id", sql`s.principal_id`],
  ],
  user: [["user_id", sql`CASE WHEN s.principal_kind = 'user' THEN s.principal_id END`]],
  virtual_account: [
    ["virtual_account_id", sql`CASE WHEN s.principal_kind = 'virtual_account' THEN s.principal_id END`],
  ],
  team: [["team_id", sql`t.team_id`]],
  provider_account: [["provider_account", sql`s.account`]],
  model: [["model", sql`s.model`]],
};

const FIELD: Record<string, keyof UsageGroupTotals> = {
  day: "day",
  principal_kind: "principalKind",
  principal_id: "principalId",
  user_id: "userId",
  virtual_account_id: "virtualAccountId",
  team_id: "teamId",
  provider_account: "providerAccount",
  model: "model",
};

/**
 * Totals over `[from, to)` grouped by `groups`. Whole UTC days are read from the daily totals (a few
 * rows per account, model and principal a day); the partial days at the edges of a range that does
 * not start or end at midnight are summed from the records themselves, through their time index —
 * or, for a tenant-wide question about accounts and models, from the hourly totals, leaving to the
 * records only what is under an hour at each edge.
 * At most `USAGE_MAX_GROUPS` groups: more is the caller's to narrow (`validation_failed`).
 */
export async function usageSummary(
  db: UsageDb,
  groups: readonly UsageGroup[],
  filter: UsageFilter,
  scope: UsageScope,
): Promise<UsageGroupTotals[] | "too_many"> {
  // A tenant-wide question about accounts and models only reads the per-account totals.
  const coarse =
    scope.all &&
    groups.every((g) => g === "day" || g === "provider_account" || g === "model") &&
    filter.principalId === undefined &&
    filter.teamId === undefined;
  const accountFilter = (c: { account: AnyColumn; model: AnyColumn }) => [
    ...(filter.account === undefined ? [] : [eq(c.account, filter.account)]),
    ...(filter.model === undefined ? [] : [eq(c.model, filter.model)]),
  ];
  const parts: SQL[] = [];
  const days = split(filter.from.getTime(), filter.to.getTime(), DAY_MS);
  if (days.whole) {
    const [a, b] = days.whole;
    parts.push(
      coarse
        ? sql`SELECT day, account, model, NULL::text AS principal_kind, NULL::uuid AS principal_id,
            '{}'::uuid[] AS team_ids, requests, errors, input_tokens, output_tokens, cached_tokens, cost_usd
          FROM ${usageDailyAccounts} WHERE ${and(
            gte(usageDailyAccounts.day, isoDay(a)),
            lt(usageDailyAccounts.day, isoDay(b)),
            ...accountFilter(usageDailyAccounts),
          )}`
        : sql`SELECT day, account, model, principal_kind, principal_id, team_ids, requests, errors,
            input_tokens, output_tokens, cached_tokens, cost_usd
          FROM ${usageDaily} WHERE ${and(
            gte(usageDaily.day, isoDay(a)),
            lt(usageDaily.day, isoDay(b)),
            ...conditions(usageDaily, filter, scope, dailyAfter),
          )}`,
    );
    if (!scope.all) {
      for (const { name, span } of createdInside(scope, [a, b])) {
        parts.push(
          fromRecordsSql(
            and(
              gte(usageRecords.at, new Date(span[0]).toISOString()),
              lt(usageRecords.at, new Date(span[1]).toISOString()),
              eq(usageRecords.account, name),
              sql`${usageRecords.principalId} <> ${scope.principalId}`,
              ...conditions(usageRecords, filter, { all: true }, recordsAfter),
            ),
          ),
        );
      }
    }
  }
  // The partial days (or, for a range inside one day, all of it): for a coarse question their whole
  // hours from the hourly totals, and what is left (under an hour at each edge) from the records.
  const fromRecords: Span[] = [];
  for (const edge of days.edges) {
    if (!coarse) {
      fromRecords.push(edge);
      continue;
    }
    const hours = split(edge[0], edge[1], HOUR_MS);
    fromRecords.push(...hours.edges);
    if (!hours.whole) continue;
    const [a, b] = hours.whole;
    parts.push(sql`SELECT (hour AT TIME ZONE 'UTC')::date AS day, account, model, NULL::text AS principal_kind,
        NULL::uuid AS principal_id, '{}'::uuid[] AS team_ids, requests, errors, input_tokens, output_tokens,
        cached_tokens, cost_usd
      FROM ${usageHourlyAccounts} WHERE ${and(
        gte(usageHourlyAccounts.hour, new Date(a).toISOString()),
        lt(usageHourlyAccounts.hour, new Date(b).toISOString()),
        ...accountFilter(usageHourlyAccounts),
      )}`);
  }
  for (const [a, b] of fromRecords) {
    const where = and(
      gte(usageRecords.at, new Date(a).toISOString()),
      lt(usageRecords.at, new Date(b).toISOString()),
      ...conditions(usageRecords, filter, scope, recordsAfter),
    );
    parts.push(fromRecordsSql(where));
  }
  const columns = [...new Set(groups)].flatMap((g) => GROUP_COLUMNS[g]);
  const byTeam = groups.includes("team");
  const select = columns.map(([name, expr]) => sql`${expr} AS ${sql.identifier(name)}`);
  const keys = columns.map(([, expr]) => expr);
  const query = sql`SELECT ${select.length > 0 ? sql`${sql.join(select, sql`, `)},` : sql``}
      coalesce(sum(s.requests), 0)::bigint AS requests, coalesce(sum(s.errors), 0)::bigint AS errors,
      coalesce(sum(s.input_tokens), 0)::bigint AS input_tokens,
      coalesce(sum(s.output_tokens), 0)::bigint AS output_tokens,
      coalesce(sum(s.cached_tokens), 0)::bigint AS cached_tokens, sum(s.cost_usd) AS cost_usd
    FROM (${sql.join(parts, sql` UNION ALL `)}) AS s
    ${
      byTeam
        ? sql`CROSS JOIN LATERAL unnest(CASE WHEN cardinality(s.team_ids) = 0 THEN ARRAY[NULL]::uuid[]
            ELSE s.team_ids END) AS t(team_id)
            ${filter.teamId === undefined ? sql`` : sql`WHERE t.team_id = ${filter.teamId}::uuid`}`
        : sql``
    }
    ${keys.length > 0 ? sql`GROUP BY ${sql.join(keys, sql`, `)} ORDER BY ${sql.join(keys, sql`, `)}` : sql``}
    LIMIT ${USAGE_MAX_GROUPS + 1}`;
  const rows = rowsOf(await db.execute(query));
  if (rows.length > USAGE_MAX_GROUPS) return "too_many";
  return rows.map((r) => {
    const out: Record<string, unknown> = {
      requests: Number(r.requests),
      errors: Number(r.errors),
      inputTokens: Number(r.input_tokens),
      outputTokens: Number(r.output_tokens),
      cachedTokens: Number(r.cached_tokens),
      costUsd: r.cost_usd === null || r.cost_usd === undefined ? null : Number(r.cost_usd),
    };
    for (const [name] of columns) {
      const field = FIELD[name];
      if (field) out[field] = r[name] ?? null;
    }
    return out as UsageGroupTotals;
  });
}

/**
 * One page of records over `[from, to)`, newest first, keyset-paged on (at, id): at most `limit`
 * records and `USAGE_RECORDS_PAGE_MAX_BYTES` of their JSON.
 */
export async function usageRecordsPage(
  db: UsageDb,
  filter: UsageFilter,
  scope: UsageScope,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ items: StoredUsageRecord[]; nextCursor: string | null }> {
  const rows = await db
    .select()
    .from(usageRecords)
    .where(
      and(
        gte(usageRecords.at, filter.from.toISOString()),
        lt(usageRecords.at, filter.to.toISOString()),
        keysetAfter(usageRecords.at, usageRecords.id, page.cursor, "desc"),
        ...conditions(usageRecords, filter, scope, recordsAfter),
      ),
    )
    .orderBy(...keysetOrder(usageRecords.at, usageRecords.id, "desc"))
    .limit(page.limit + 1);
  return pageFrom(
    rows,
    page.limit,
    (r) => ({ at: new Date(r.at), id: r.id }),
    (r): StoredUsageRecord => ({
      id: r.id,
      requestId: r.requestId,
      at: new Date(r.at).toISOString(),
      principalKind: r.principalKind as StoredUsageRecord["principalKind"],
      principalId: r.principalId,
      keyId: r.keyId,
      teamIds: r.teamIds,
      providerAccount: r.account,
      model: r.model,
      route: r.route,
      operation: r.operation as StoredUsageRecord["operation"],
      stream: r.stream,
      status: r.status,
      inputTokens: r.promptTokens,
      outputTokens: r.completionTokens,
      cachedTokens: r.cachedTokens,
      estimated: r.estimated,
      costUsd: r.costUsd,
      durationMs: r.durationMs,
      ttftMs: r.ttftMs,
    }),
    USAGE_RECORDS_PAGE_MAX_BYTES,
  );
}

/** The records matching `where` in the shape of the totals tables' rows (one call each). */
function fromRecordsSql(where: SQL | undefined): SQL {
  return sql`SELECT (at AT TIME ZONE 'UTC')::date AS day, account, model, principal_kind, principal_id,
      coalesce(team_ids, '{}'::uuid[]) AS team_ids, 1::bigint AS requests,
      (status >= 400)::int::bigint AS errors, coalesce(prompt_tokens, 0) AS input_tokens,
      coalesce(completion_tokens, 0) AS output_tokens, coalesce(cached_tokens, 0) AS cached_tokens,
      cost_usd
    FROM ${usageRecords} WHERE ${where}`;
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** postgres-js answers an array of rows, PGlite `{ rows }`. */
function rowsOf(result: unknown): Array<Record<string, unknown>> {
  if (Array.isArray(result)) return result as Array<Record<string, unknown>>;
  return ((result as { rows?: unknown[] }).rows ?? []) as Array<Record<string, unknown>>;
}
