import type { BusClient } from "@gatehouse/bus";
import { type Route, route } from "@gatehouse/bus";
import {
  dispatchAdminUsageRecords,
  dispatchAdminUsageSummary,
  GatehouseError,
  USAGE_MAX_GROUPS,
  USAGE_MAX_RANGE_DAYS,
} from "@gatehouse/contracts";
import { UsageQueries, type UsageQueryLimits } from "../usage/gate.js";
import { type UsageFilter, usageRecordsPage, usageSummary } from "../usage/query.js";
import { type AccountsDb, type UsageDb, usageScope } from "../usage/scope.js";

/**
 * The first instant Postgres reads: ISO 8601 and JavaScript have a year 0000 (1 BC), Postgres's
 * calendar none, so "0000-…" in a query is an error of the database's (it was a 500).
 */
const FIRST_MS = Date.parse("0001-01-01T00:00:00Z");

/** The range and filters of a usage request, checked here too: the bus is not only ingress's. */
function filterOf(req: {
  from: string;
  to: string;
  account?: string | undefined;
  model?: string | undefined;
  principalId?: string | undefined;
  teamId?: string | undefined;
}): UsageFilter {
  const from = new Date(req.from);
  const to = new Date(req.to);
  if (!(from.getTime() < to.getTime())) {
    throw new GatehouseError("validation_failed", "invalid request: from must be before to");
  }
  if (from.getTime() < FIRST_MS) {
    throw new GatehouseError("validation_failed", "invalid request: from must be in year 1 or later");
  }
  if (to.getTime() - from.getTime() > USAGE_MAX_RANGE_DAYS * 86_400_000) {
    throw new GatehouseError(
      "validation_failed",
      `invalid request: a range covers at most ${USAGE_MAX_RANGE_DAYS} days`,
    );
  }
  return { ...req, from, to };
}

/**
 * `GET /api/v1/usage` and `GET /api/v1/usage/records`, answered from this service's usage tables, a
 * few queries at a time within the caller's time (`limits`; see gate.ts).
 */
export function usageRoutes(
  db: UsageDb,
  accounts: AccountsDb,
  client: BusClient,
  limits?: UsageQueryLimits,
): Route[] {
  const queries = new UsageQueries(db, limits);
  return [
    route(dispatchAdminUsageSummary, async (req) => {
      const startedAt = performance.now();
      const filter = filterOf(req);
      const scope = await usageScope(client, accounts, req.actor, req.account);
      const groups = await queries.run((q) => usageSummary(q, req.groupBy, filter, scope), startedAt);
      if (groups === "too_many") {
        throw new GatehouseError(
          "validation_failed",
          `invalid request: more than ${USAGE_MAX_GROUPS} groups; narrow the range, filter, or group by less`,
        );
      }
      return { groups };
    }),
    route(dispatchAdminUsageRecords, async (req) => {
      const startedAt = performance.now();
      const filter = filterOf(req);
      const scope = await usageScope(client, accounts, req.actor, req.account);
      return queries.run((q) => usageRecordsPage(q, filter, scope, req), startedAt);
    }),
  ];
}
