import {
  type FallbackOn,
  GatehouseError,
  type ModelKind,
  type ModelRoute,
  type RouteStrategy,
  type RouteTarget,
} from "@gatehouse/contracts";
import { arrayContains, asc, eq, inArray } from "drizzle-orm";
import type { DispatchDb, DispatchTx } from "../accounts/context.js";
import { modelRoutes, providerAccounts } from "../db/schema.js";
import { breakerKey } from "./health.js";

export type RouteRow = typeof modelRoutes.$inferSelect;

export function routeView(row: RouteRow): ModelRoute {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    strategy: row.strategy,
    targets: row.targets.map((t) => ({ model: t.model, weight: t.weight })),
    fallbackOn: row.fallbackOn,
    firstByteTimeoutMs: row.firstByteTimeoutMs,
    cooldownMs: row.cooldownMs,
    failureThreshold: row.failureThreshold,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    createdBy: row.createdBy,
  };
}

/** `<account>/<model>` split at the first slash (the model part may hold slashes of its own). */
export function splitTarget(model: string): { account: string; model: string } {
  const slash = model.indexOf("/");
  return { account: model.slice(0, slash), model: model.slice(slash + 1) };
}

export function targetAccounts(targets: readonly RouteTarget[]): string[] {
  return [...new Set(targets.map((t) => splitTarget(t.model).account))].sort();
}

/** The stored route; `not_found` when there is none (names match exactly, as callers send them). */
export async function loadRouteRow(
  db: DispatchDb | DispatchTx,
  name: string,
  forUpdate = false,
): Promise<RouteRow> {
  const query = db.select().from(modelRoutes).where(eq(modelRoutes.name, name));
  const [row] = forUpdate ? await query.for("update") : await query;
  if (!row) throw new GatehouseError("not_found", `route '${name}' not found`);
  return row;
}

/**
 * Every target names an existing account holding that model with the route's kind: a route never
 * points at something a direct call could not reach. Checked in the transaction that writes it.
 */
export async function requireTargets(
  tx: DispatchDb | DispatchTx,
  kind: ModelKind,
  targets: readonly RouteTarget[],
): Promise<void> {
  const names = targetAccounts(targets);
  const rows = await tx
    .select({ name: providerAccounts.name, models: providerAccounts.models })
    .from(providerAccounts)
    .where(inArray(providerAccounts.name, names))
    // Held until the route is written: an account being deleted meanwhile waits, then sees the route.
    .for("share");
  const byName = new Map(rows.map((r) => [r.name, r.models]));
  for (const t of targets) {
    const { account, model } = splitTarget(t.model);
    const models = byName.get(account);
    if (models === undefined) {
      throw new GatehouseError(
        "validation_failed",
        `target '${t.model}': provider account '${account}' does not exist`,
      );
    }
    const found = models.find((m) => m.name === model);
    if (!found) {
      throw new GatehouseError(
        "validation_failed",
        `target '${t.model}': account '${account}' has no model '${model}'`,
      );
    }
    if (found.kind !== kind) {
      throw new GatehouseError(
        "validation_failed",
        `target '${t.model}' is a ${found.kind} model; this route is for ${kind} models`,
      );
    }
  }
}

/** A route as the invoke path runs it. */
export interface RoutePlan {
  name: string;
  kind: ModelKind;
  strategy: RouteStrategy;
  /** `id` is `<account>/<model>`; `breaker` is the target's breaker within this route (made once per plan). */
  targets: ReadonlyArray<{ account: string; model: string; id: string; weight: number; breaker: string }>;
  fallbackOn: ReadonlySet<FallbackOn>;
  firstByteTimeoutMs: number;
  cooldownMs: number;
  failureThreshold: number;
}

/**
 * The route as the invoke path runs it, with the targets `keep` accepts. Targets and plan are
 * literals of one shape, not spreads: every refresh's objects then share their hidden classes, and
 * the hot path's optimized code, which reads them, is not thrown away at each refresh (with spreads
 * it was, every TTL: "wrong map" deopts in the runner, and recompiling on V8's helper threads).
 */
export function planOf(
  row: RouteRow,
  keep: (account: string, model: string) => boolean = () => true,
): RoutePlan {
  const targets: RoutePlan["targets"][number][] = [];
  for (const t of row.targets) {
    const { account, model } = splitTarget(t.model);
    if (!keep(account, model)) continue;
    targets.push({ account, model, id: t.model, weight: t.weight, breaker: breakerKey(row.name, t.model) });
  }
  return {
    name: row.name,
    kind: row.kind,
    strategy: row.strategy,
    targets,
    fallbackOn: new Set(row.fallbackOn),
    firstByteTimeoutMs: row.firstByteTimeoutMs,
    cooldownMs: row.cooldownMs,
    failureThreshold: row.failureThreshold,
  };
}

/** The routes that have `account` as a target (an account is not deleted from under them). */
export async function routesUsing(db: DispatchDb | DispatchTx, account: string): Promise<string[]> {
  const rows = await db
    .select({ name: modelRoutes.name })
    .from(modelRoutes)
    .where(arrayContains(modelRoutes.accounts, [account]))
    .orderBy(asc(modelRoutes.name))
    .limit(20);
  return rows.map((r) => r.name);
}
