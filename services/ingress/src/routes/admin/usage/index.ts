import * as bus from "@gatehouse/contracts";
import { type StoredUsageRecord, USAGE_RECORDS_PAGE_MAX, UsageGroup } from "@gatehouse/contracts";
import { stringify } from "csv-stringify/sync";
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import type { IngressContext } from "../../../context.js";
import { adminList, adminRoute, Id, snakeView, Time, typed } from "../http.js";

const DAY_MS = 86_400_000;
/** Without `from`/`to`: the last 30 UTC days, today included. */
const DEFAULT_RANGE_DAYS = 30;

const Instant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .describe("ISO-8601 date-time, or a date (midnight UTC)");
const GROUP_LIST = new RegExp(`^(${UsageGroup.options.join("|")})(,(${UsageGroup.options.join("|")}))*$`);

const Filters = {
  from: Instant.optional().describe("Start of the range, inclusive (default: 30 days before `to`)"),
  to: Instant.optional().describe(
    "End of the range, exclusive (default: the end of today, UTC); at most 366 days after `from`",
  ),
  provider_account: bus.AccountName.optional(),
  model: bus.ModelName.optional(),
  principal_id: Id.optional().describe("A user's or a virtual account's id"),
  team_id: Id.optional().describe("Calls by members of this team"),
};

const SummaryQuery = z.object({
  group_by: z
    .string()
    .max(200)
    .regex(GROUP_LIST, `a comma-separated list of ${UsageGroup.options.join(", ")}`)
    .optional()
    .describe(`Comma-separated: ${UsageGroup.options.join(", ")}. Without it, one total.`),
  ...Filters,
});

const RecordsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(USAGE_RECORDS_PAGE_MAX).default(100),
  cursor: z.string().min(1).max(512).optional(),
  ...Filters,
});

const GroupOut = z.object({
  day: z.string().optional().describe("UTC day, YYYY-MM-DD"),
  principal_kind: z.enum(["user", "virtual_account"]).optional(),
  principal_id: Id.optional(),
  user_id: Id.nullable().optional(),
  virtual_account_id: Id.nullable().optional(),
  team_id: Id.nullable().optional(),
  provider_account: z.string().optional(),
  model: z.string().optional(),
  requests: z.number().int(),
  errors: z.number().int().describe("Requests answered with a status of 400 or more"),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  cached_tokens: z.number().int(),
  cost_usd: z.number().nullable().describe("Sum of the priced calls' cost; null when none had a price"),
});
const SummaryOut = z.object({ data: z.array(GroupOut) });

const RecordOut = z.object({
  id: Id,
  request_id: z.string(),
  at: Time,
  principal_kind: z.enum(["user", "virtual_account"]),
  principal_id: Id,
  key_id: Id,
  team_ids: z.array(Id).nullable(),
  provider_account: z.string(),
  model: z.string(),
  route: z.string().nullable(),
  operation: bus.Operation,
  stream: z.boolean(),
  status: z.number().int(),
  input_tokens: z.number().int().nullable(),
  output_tokens: z.number().int().nullable(),
  cached_tokens: z.number().int().nullable(),
  estimated: z.boolean().describe("Token counts made by Gatehouse (an aborted stream), not the provider's"),
  cost_usd: z.number().nullable().describe("USD at the model's prices when the call was made"),
  duration_ms: z.number().int(),
  ttft_ms: z.number().int().nullable(),
});

const groupOut = snakeView(GroupOut);
const recordOut = snakeView(RecordOut);
const CSV_COLUMNS = Object.keys(RecordOut.shape);

type Instant = z.output<typeof Instant>;
type FilterQuery = { [K in keyof typeof Filters]?: z.output<(typeof Filters)[K]> };

/**
 * The range and filters in the bus contract's terms; a range is checked (order, length) by dispatch.
 * The default range is whole UTC days (the last 30, today included), which the daily totals answer.
 */
function filterArgs(q: FilterQuery) {
  const to = q.to === undefined ? new Date((Math.floor(Date.now() / DAY_MS) + 1) * DAY_MS) : instant(q.to);
  const from = q.from === undefined ? new Date(to.getTime() - DEFAULT_RANGE_DAYS * DAY_MS) : instant(q.from);
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    ...(q.provider_account === undefined ? {} : { account: q.provider_account }),
    ...(q.model === undefined ? {} : { model: q.model }),
    ...(q.principal_id === undefined ? {} : { principalId: q.principal_id }),
    ...(q.team_id === undefined ? {} : { teamId: q.team_id }),
  };
}

function instant(value: Instant): Date {
  return new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
}

/**
 * Records as CSV, one row per record in the JSON field order. Cells that a spreadsheet would read as
 * a formula (a caller-chosen request id or model name starting with `=`, `+`, `-`, `@`) are escaped.
 */
function recordsCsv(page: { items: StoredUsageRecord[]; nextCursor: string | null }) {
  const rows = page.items.map((r) => {
    const row = recordOut(r) as Record<string, unknown>;
    return CSV_COLUMNS.map((c) => {
      const v = row[c];
      return Array.isArray(v) ? v.join(" ") : v;
    });
  });
  const body = stringify(rows, {
    header: true,
    columns: CSV_COLUMNS,
    escape_formulas: true,
    cast: { boolean: String },
  });
  const headers: Record<string, string> = page.nextCursor ? { "x-next-cursor": page.nextCursor } : {};
  return { body, headers };
}

/**
 * `GET /api/v1/usage` (totals grouped as asked) and `GET /api/v1/usage/records` (raw records, JSON or
 * CSV). Tenant admins see every call; anyone else their own and those to the accounts they manage —
 * decided by dispatch, which keeps the records.
 */
export const usageRoutes: FastifyPluginAsync<{ ctx: IngressContext }> = async (plain, { ctx }) => {
  const app = typed(plain);
  const tags = ["usage"];
  adminRoute(app, ctx, {
    method: "GET",
    url: "/api/v1/usage",
    tags,
    summary:
      "Usage and cost totals, grouped (admins: all calls; others: their own and their managed accounts')",
    querystring: SummaryQuery,
    response: SummaryOut,
    endpoint: bus.dispatchAdminUsageSummary,
    request: ({ query }) => ({
      // A group named twice is grouped by once (the bus contract takes each group at most once).
      groupBy: [...new Set(query.group_by?.split(",") ?? [])] as UsageGroup[],
      ...filterArgs(query),
    }),
    view: (answer) => ({ data: answer.groups.map(groupOut) }),
  });
  adminList(app, ctx, {
    url: "/api/v1/usage/records",
    tags,
    summary:
      "Usage records, newest first (JSON, or CSV with Accept: text/csv and the next cursor in x-next-cursor)",
    querystring: RecordsQuery,
    item: RecordOut,
    endpoint: bus.dispatchAdminUsageRecords,
    request: ({ query }) => filterArgs(query),
    view: recordOut,
    csv: recordsCsv,
  });
};
